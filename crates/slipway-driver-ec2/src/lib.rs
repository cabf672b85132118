//! The `ec2` cloud (SPEC §5): AWS or any EC2-compatible endpoint.
//!
//! Owns: the EC2 Query API client (`api`: form-encoded requests signed with SigV4 over exactly the
//! bytes sent, XML responses read with quick-xml, every AWS error code and message passed on,
//! retries with exponential backoff and jitter for throttling, 5xx and dropped connections only).
//! Never: links `aws-sdk-ec2` (8 GB of RAM to build), writes a private key to disk, or puts a
//! secret into an error message.

pub mod api;
pub mod calls;
mod driver;
pub mod keys;

pub use driver::{
    default_ssh_address, resource_name, Ec2Driver, Ec2Settings, InstanceState, KeyVault,
    MemoryVault, SshAddress,
};
