//! `data_dir` reads the environment, so it is tested alone in its own process.

use std::path::PathBuf;

#[test]
fn slipway_home_wins_over_the_platform_directory() {
    std::env::remove_var("SLIPWAY_HOME");
    let platform = slipway_store::data_dir();
    assert!(platform.ends_with("slipway"), "{}", platform.display());

    std::env::set_var("SLIPWAY_HOME", "/tmp/somewhere-else");
    assert_eq!(
        slipway_store::data_dir(),
        PathBuf::from("/tmp/somewhere-else")
    );

    std::env::set_var("SLIPWAY_HOME", "");
    assert_eq!(slipway_store::data_dir(), platform);
}
