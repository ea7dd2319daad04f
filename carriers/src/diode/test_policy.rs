//! Test-only: trust policies for test keys, written as an operator would write them (the
//! TOML of bundle-format 7.1), so that the tests exercise the real policy reader.

use bundle_format::keys::SigningKey;
use bundle_format::policy::TrustPolicy;

/// A policy of zone `zone` trusting each (key, role, source zone, optional `not_after`).
pub fn policy(zone: &str, keys: &[(&SigningKey, &str, &str, Option<&str>)]) -> TrustPolicy {
    let mut text = format!("zone = \"{zone}\"\n");
    for (key, role, zones, not_after) in keys {
        let public = key.public_key();
        text.push_str(&format!(
            "[[keys]]\nid = \"{}\"\npublic_key = \"{}\"\nrole = \"{role}\"\nzones = [\"{zones}\"]\n",
            public.key_id(),
            base64(&public.to_raw()),
        ));
        if let Some(end) = not_after {
            text.push_str(&format!("not_after = {end}\n"));
        }
    }
    TrustPolicy::from_toml(&text, "test").unwrap_or_else(|e| panic!("{e}"))
}

/// Standard base64 with padding (a policy's `public_key`).
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(TABLE[(n >> (18 - 6 * i) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}
