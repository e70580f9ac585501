//! The apps that ship with the gateway, each in its own file.

pub mod cgi;
pub mod gzip;
pub mod static_files;
