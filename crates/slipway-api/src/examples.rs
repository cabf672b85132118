//! The starter examples the library is seeded with on first start, built into the binary.
//! Owns: the list of example files. Never: seeds twice (the store remembers each seeded file).

/// `(file name, text)` of each example recipe under `assets/examples`.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "hello.slipway.yaml",
        include_str!("../../../assets/examples/hello.slipway.yaml"),
    ),
    (
        "web-with-db.slipway.yaml",
        include_str!("../../../assets/examples/web-with-db.slipway.yaml"),
    ),
    (
        "multiline-outputs.slipway.yaml",
        include_str!("../../../assets/examples/multiline-outputs.slipway.yaml"),
    ),
    (
        "web-with-lb.slipway.yaml",
        include_str!("../../../assets/examples/web-with-lb.slipway.yaml"),
    ),
];
