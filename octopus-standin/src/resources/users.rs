//! `GET /api/users/me`: the user an API key belongs to, as a `UserResource` (Swagger
//! `getUserGetCurrent`, in the 2020.5 spec and still served; `@octopusdeploy/api-client`
//! `userGetCurrent`).
//!
//! The admin key (`--api-key`) belongs to `Users-1`, `admin`, the user every change is
//! recorded against (`LastModifiedBy`, `DeployedById`). Each role key (`--role-key`, n-th
//! from 0) belongs to its own user `Users-{n+2}`, a service account (`IsService`: Octopus's
//! advice is to give automation its own service account's key); these users are the
//! stand-in's own, as no public payload shows one.

use serde_json::{Value, json};

/// Who made a request: the admin key's user, or the role key at this index's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The admin key.
    Admin,
    /// The role key at this index of `--role-key`.
    Role(usize),
}

/// `UserResource` for the caller.
pub fn me(caller: Caller, role_key: Option<&str>) -> Value {
    let (number, username, display, service) = match caller {
        Caller::Admin => (1, "admin".to_owned(), "Administrator".to_owned(), false),
        Caller::Role(i) => (
            i.saturating_add(2),
            format!("role-key-{}", i.saturating_add(1)),
            format!(
                "Role key {} ({})",
                i.saturating_add(1),
                role_key.unwrap_or("")
            ),
            true,
        ),
    };
    let id = format!("Users-{number}");
    json!({
        "Id": id,
        "Username": username,
        "DisplayName": display,
        "EmailAddress": if service { Value::Null } else { json!("admin@octopus.standin") },
        "IsActive": true,
        "IsService": service,
        "IsRequestor": true,
        "CanPasswordBeEdited": !service,
        "Identities": [],
        "Links": {
            "Self": format!("/api/users/{id}"),
            "Permissions": format!("/api/users/{id}/permissions"),
            "ApiKeys": format!("/api/users/{id}/apikeys{{/id}}{{?skip,take}}"),
        },
    })
}
