//! Test support of the ec2 driver: moto (and its fault proxy), and real sshd servers borrowed
//! from the ssh driver's tests, which stand in for instances that moto cannot run.

#![allow(dead_code)]

pub mod moto;
#[path = "../../../slipway-driver-ssh/tests/support/mod.rs"]
pub mod sshd;
