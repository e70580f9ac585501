//! The apps that ship with the gateway, each in its own file.
