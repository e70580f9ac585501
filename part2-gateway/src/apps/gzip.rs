//! Gzip content coding as middleware.
