//! Refusals: the import will not go on with this bundle against this instance (exit 1), each
//! with a stable code for `--json` and schedulers.
//!
//! | code | why |
//! |---|---|
//! | `wrong-kind` | a result bundle (verified, or claimed before trust) was given to `import` |
//! | `release-invalid` | the verified bundle's release is inconsistent |
//! | `replay`, `rollback`, `chain-broken`, `gap`, `skipped` | the channel's order (bundle spec 9.2, 9.3) |
//! | `version-controlled` | the target project keeps its process in Git |
//! | `missing-on-target` | the project, library variable sets or the release's channel are missing and `--create-missing` was not given (every one listed) |
//! | `channel-rule` | a package version breaks a version rule of the release's channel |
//! | `channel-rules-differ` | the release's channel has other version rules on the target than in the bundle |
//! | `unresolved-names` | names the target does not have (every one listed) |
//! | `secrets-missing` | secrets neither stored on the target nor in the secrets file |
//! | `variable-conflict` | a target secret would become a plain value, or two variables collide |
//! | `sensitive-property` | the bundle would set, replace or clear a sensitive action property the target stores, or carries a sensitive value |
//! | `step-template-conflict` | a step template of the bundle differs from the target's of the same or a newer version |
//! | `secret-shadowed` | a plain variable of the bundle would take precedence over a secret the target stores |
//! | `external-package-missing` | a package version of an external feed is not on the target's feed, or that feed is of another type (every one listed) |
//! | `automatic-start` | the target would deploy or create releases by itself (automatic lifecycle phases, triggers, automatic release creation); every one listed |
//! | `package-conflict` | the target's feed has the package version with other content |
//! | `build-information-invalid` | the bundle's `build-information.json` breaks a bound or rule (size, shape, control characters, credentials in a URL) |
//! | `build-information-conflict` | the target has other build information for a package version of the bundle (every one listed) |
//! | `package-unselectable` | a package reference has no version, or two, in the bundle |
//! | `release-conflict` | the release exists on the target with other content |
//! | `import-mismatch` | the created release does not match the bundle |

pub use bridge_cli::failure::refused;
