//! Exit codes of SPEC §6, in one place.

pub const SUCCESS: i32 = 0;
#[allow(dead_code)]
pub const DEPLOYMENT_FAILED: i32 = 1;
pub const BAD_INPUT: i32 = 2;
#[allow(dead_code)]
pub const INFRASTRUCTURE: i32 = 3;
#[allow(dead_code)]
pub const CANCELLED: i32 = 130;
