//! The diode carrier end to end over an emulated link (test-support's `netns::Link`): three
//! network namespaces, `zb-relay` impairing the traffic in the middle, `bridge-export send` on
//! one side and `bridge-import receive` on the other. These tests need root (CI runs as root)
//! and fail, never skip, without it. Seeds are fixed and printed.

#[path = "diode_link.rs"]
mod link;
