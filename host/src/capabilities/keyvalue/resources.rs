//! The host side of the `wasi:keyvalue` resources.

/// A `bucket`: the store it names.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
}

/// A `cas` handle: the value seen when the handle was made, which `swap`
/// requires to be unchanged.
#[derive(Debug, Clone)]
pub struct Cas {
    pub bucket: String,
    pub key: String,
    pub snapshot: Option<Vec<u8>>,
}
