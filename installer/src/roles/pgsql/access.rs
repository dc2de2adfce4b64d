//! Pigsty's access model, provisioned on whichever member is the leader:
//! the default roles with their default privileges, then the seed's
//! `pg_users` and `pg_databases` (owner, schemas, extensions).
//!
//! Each piece is an SQL file under `/pg/conf/sql` and a command that runs
//! it with `psql` on the leader and keeps a copy of what it ran. The
//! command's guard passes on a replica (the leader provisions) and when
//! the copy equals the file, so a second apply does nothing, and a new or
//! changed user or database runs just its own file, without a restart.
//! The files are idempotent (`IF NOT EXISTS`, `ALTER`), so running one
//! again after a failover is harmless.

use std::path::PathBuf;

use super::{DBSU, Member, SOCKET_DIR};
use crate::engine::{Guard, Resource};
use crate::roles::{Context, RoleInputError};
use crate::seed::yaml::Node;

/// Where the provisioning SQL goes.
const SQL_DIR: &str = "/pg/conf/sql";

/// An SQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A role or database name pig accepts: no quotes, backslashes, spaces
/// or control characters, so it is safe in SQL, psql, pgBouncer's files
/// and HBA lines alike.
pub fn check_name(ctx: &Context, what: &str, name: &str) -> Result<(), RoleInputError> {
    let bad = name.is_empty()
        || name.len() > 63
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\'));
    if bad {
        return Err(ctx.error(format!(
            "{what} {name:?}: names must be 1-63 characters without quotes, backslashes or spaces"
        )));
    }
    Ok(())
}

/// A role of `pg_default_roles` or `pg_users`, as read from the seed.
pub struct RoleSpec<'a> {
    /// Its name.
    pub name: String,
    /// Its item in the seed.
    pub node: &'a Node,
    /// Its password, if any.
    pub password: Option<String>,
}

impl RoleSpec<'_> {
    fn flag(&self, key: &str) -> Option<bool> {
        self.node.get(key).and_then(Node::as_bool)
    }

    /// Whether pgBouncer lists it.
    pub fn pgbouncer(&self) -> bool {
        self.flag("pgbouncer").unwrap_or(false)
    }

    /// A text field.
    pub fn text(&self, key: &str) -> Option<String> {
        self.node.get(key).and_then(Node::scalar_text)
    }

    /// Granted roles.
    fn roles(&self) -> Vec<String> {
        self.node
            .get("roles")
            .and_then(Node::as_seq)
            .map(|s| s.iter().filter_map(Node::scalar_text).collect())
            .unwrap_or_default()
    }
}

/// Roles of `param` (a list of mappings with `name`), with passwords:
/// the item's own, else the seed's credential for the system users.
pub fn roles<'a>(ctx: &'a Context, param: &str) -> Result<Vec<RoleSpec<'a>>, RoleInputError> {
    let Some(items) = ctx.host.vars.get(param).and_then(Node::as_seq) else {
        return Ok(Vec::new());
    };
    let system = [
        ("pg_replication_username", "pg_replication_password"),
        ("pg_admin_username", "pg_admin_password"),
        ("pg_monitor_username", "pg_monitor_password"),
    ];
    let mut out = Vec::new();
    for item in items {
        let name = item
            .get("name")
            .and_then(Node::scalar_text)
            .ok_or_else(|| {
                ctx.error(format!("{param}: an item has no name (line {})", item.line))
            })?;
        check_name(ctx, param, &name)?;
        let mut password = item.get("password").and_then(Node::scalar_text);
        if password.is_none() {
            for (user, pass) in system {
                if ctx.host.vars.str(user).as_deref() == Some(name.as_str()) {
                    password = ctx.host.vars.str(pass);
                }
            }
            if name == DBSU {
                password = ctx.host.vars.str("pg_dbsu_password");
            }
        }
        out.push(RoleSpec {
            name,
            node: item,
            password: password.filter(|p| !p.is_empty()),
        });
    }
    Ok(out)
}

/// `CREATE ROLE` if missing, then its attributes, memberships, settings.
fn role_sql(ctx: &Context, role: &RoleSpec) -> Result<String, RoleInputError> {
    let n = ident(&role.name);
    let mut s = format!(
        "DO $pig$ BEGIN\n  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN\n    CREATE ROLE {n};\n  END IF;\nEND $pig$;\n",
        literal(&role.name)
    );
    let mut attrs = Vec::new();
    for (key, on, off, default) in [
        ("login", "LOGIN", "NOLOGIN", true),
        ("superuser", "SUPERUSER", "NOSUPERUSER", false),
        ("createdb", "CREATEDB", "NOCREATEDB", false),
        ("createrole", "CREATEROLE", "NOCREATEROLE", false),
        ("inherit", "INHERIT", "NOINHERIT", true),
        ("replication", "REPLICATION", "NOREPLICATION", false),
        ("bypassrls", "BYPASSRLS", "NOBYPASSRLS", false),
    ] {
        attrs.push(
            if role.flag(key).unwrap_or(default) {
                on
            } else {
                off
            }
            .to_string(),
        );
    }
    if let Some(limit) = role.node.get("connlimit").and_then(Node::as_int) {
        attrs.push(format!("CONNECTION LIMIT {limit}"));
    }
    if let Some(p) = &role.password {
        attrs.push(format!("PASSWORD {}", literal(p)));
    }
    s.push_str(&format!("ALTER ROLE {n} WITH {};\n", attrs.join(" ")));
    for granted in role.roles() {
        check_name(ctx, "roles", &granted)?;
        s.push_str(&format!("GRANT {} TO {n};\n", ident(&granted)));
    }
    if let Some(params) = role.node.get("parameters").and_then(Node::as_map) {
        for (key, value) in params {
            let v = value.scalar_text().ok_or_else(|| {
                ctx.error(format!("{}: parameters.{key} is not a scalar", role.name))
            })?;
            check_name(ctx, "parameter", key)?;
            s.push_str(&format!("ALTER ROLE {n} SET {key} = {};\n", literal(&v)));
        }
    }
    if let Some(c) = role.text("comment") {
        s.push_str(&format!("COMMENT ON ROLE {n} IS {};\n", literal(&c)));
    }
    // Objects an admin creates get the default privileges too.
    if role.roles().iter().any(|r| r == "dbrole_admin") {
        for privilege in ctx.host.vars.strings("pg_default_privileges") {
            s.push_str(&format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {n} {privilege};\n"
            ));
        }
    }
    Ok(s)
}

/// The default roles and the default privileges of the superuser.
fn default_roles_sql(ctx: &Context) -> Result<String, RoleInputError> {
    let mut s = String::from("-- Managed by pig-install (pgsql role): Pigsty's default roles.\n");
    for role in roles(ctx, "pg_default_roles")? {
        s.push_str(&role_sql(ctx, &role)?);
    }
    for privilege in ctx.host.vars.strings("pg_default_privileges") {
        s.push_str(&format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} {privilege};\n",
            ident(DBSU)
        ));
    }
    Ok(s)
}

/// An extension item: a name or `{name, schema}`.
fn extension(ctx: &Context, node: &Node) -> Result<(String, Option<String>), RoleInputError> {
    if let Some(name) = node.as_str() {
        return Ok((name.to_string(), None));
    }
    let name = node
        .get("name")
        .and_then(Node::scalar_text)
        .ok_or_else(|| ctx.error(format!("an extension has no name (line {})", node.line)))?;
    Ok((name, node.get("schema").and_then(Node::scalar_text)))
}

/// `CREATE EXTENSION` for one extension; `optional` ones are skipped where
/// the server lacks them (Pigsty's defaults name some Debian does not ship).
fn extension_sql(name: &str, schema: Option<&str>, optional: bool) -> String {
    let with = schema
        .map(|s| format!(" WITH SCHEMA {}", ident(s)))
        .unwrap_or_default();
    let create = format!("CREATE EXTENSION IF NOT EXISTS {}{with}", ident(name));
    if optional {
        format!(
            "SELECT {} WHERE EXISTS (SELECT FROM pg_available_extensions WHERE name = {}) \\gexec\n",
            literal(&create),
            literal(name)
        )
    } else {
        format!("{create};\n")
    }
}

/// A database of `pg_databases`: created if missing, then its owner,
/// comment, schemas and extensions.
fn database_sql(ctx: &Context, db: &Node, name: &str) -> Result<String, RoleInputError> {
    let text = |key: &str| db.get(key).and_then(Node::scalar_text);
    let n = ident(name);
    let mut create = format!("CREATE DATABASE {n}");
    if let Some(owner) = text("owner") {
        check_name(ctx, "owner", &owner)?;
        create.push_str(&format!(" OWNER {}", ident(&owner)));
    }
    for (key, word) in [
        ("template", "TEMPLATE"),
        ("encoding", "ENCODING"),
        ("locale", "LOCALE"),
        ("lc_collate", "LC_COLLATE"),
        ("lc_ctype", "LC_CTYPE"),
    ] {
        if let Some(v) = text(key) {
            create.push_str(&format!(" {word} {}", literal(&v)));
        }
    }
    let mut s = format!(
        "-- Managed by pig-install (pgsql role): database {name}.\nSELECT {} WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {}) \\gexec\n",
        literal(&create),
        literal(name)
    );
    if let Some(owner) = text("owner") {
        s.push_str(&format!("ALTER DATABASE {n} OWNER TO {};\n", ident(&owner)));
    }
    if let Some(c) = text("comment") {
        s.push_str(&format!("COMMENT ON DATABASE {n} IS {};\n", literal(&c)));
    }
    if db.get("revokeconn").and_then(Node::as_bool) == Some(true) {
        s.push_str(&format!("REVOKE CONNECT ON DATABASE {n} FROM PUBLIC;\n"));
    }
    s.push_str(&format!("\\connect {n}\n"));
    let owner = text("owner");
    let mut schemas = ctx.host.vars.strings("pg_default_schemas");
    if let Some(list) = db.get("schemas").and_then(Node::as_seq) {
        schemas.extend(list.iter().filter_map(Node::scalar_text));
    }
    for schema in schemas {
        check_name(ctx, "schema", &schema)?;
        let auth = owner
            .as_ref()
            .map(|o| format!(" AUTHORIZATION {}", ident(o)))
            .unwrap_or_default();
        s.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}{auth};\n",
            ident(&schema)
        ));
    }
    if let Some(defaults) = ctx
        .host
        .vars
        .get("pg_default_extensions")
        .and_then(Node::as_seq)
    {
        for e in defaults {
            let (name, schema) = extension(ctx, e)?;
            s.push_str(&extension_sql(&name, schema.as_deref(), true));
        }
    }
    if let Some(list) = db.get("extensions").and_then(Node::as_seq) {
        for e in list {
            let (name, schema) = extension(ctx, e)?;
            s.push_str(&extension_sql(&name, schema.as_deref(), false));
        }
    }
    Ok(s)
}

/// Names and items of `pg_databases`.
pub fn databases<'a>(ctx: &'a Context) -> Result<Vec<(String, &'a Node)>, RoleInputError> {
    let Some(items) = ctx.host.vars.get("pg_databases").and_then(Node::as_seq) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for db in items {
        let name = db.get("name").and_then(Node::scalar_text).ok_or_else(|| {
            ctx.error(format!(
                "pg_databases: an item has no name (line {})",
                db.line
            ))
        })?;
        check_name(ctx, "pg_databases", &name)?;
        out.push((name, db));
    }
    Ok(out)
}

/// One SQL file and the command that runs it on the leader.
fn provision(member: &Member, name: &str, sql: String, out: &mut Vec<Resource>) {
    let path = format!("{SQL_DIR}/{name}.sql");
    let port = member.port.to_string();
    out.push(Resource::File {
        path: PathBuf::from(&path),
        content: sql.into_bytes(),
        owner: DBSU.into(),
        group: DBSU.into(),
        mode: 0o600,
        secret: true,
    });
    let recovery = "[ \"$(psql -XAtqh \"$2\" -p \"$3\" -c 'SELECT pg_is_in_recovery()')\" = t ]";
    out.push(Resource::Command {
        name: format!("pg-provision-{name}"),
        argv: Resource::argv(&[
            "runuser",
            "-u",
            DBSU,
            "--",
            "sh",
            "-c",
            &format!(
                "umask 077; if {recovery}; then exit 0; fi; \
                 psql -Xq -v ON_ERROR_STOP=1 -h \"$2\" -p \"$3\" -d postgres -f \"$1\" && cp \"$1\" \"$1.done\""
            ),
            "sh",
            &path,
            SOCKET_DIR,
            &port,
        ]),
        guard: Guard::Unless(Resource::argv(&[
            "runuser",
            "-u",
            DBSU,
            "--",
            "sh",
            "-c",
            &format!("{recovery} || cmp -s \"$1\" \"$1.done\""),
            "sh",
            &path,
            SOCKET_DIR,
            &port,
        ])),
    });
}

/// Resources: the SQL files and their commands, in dependency order.
pub fn resources(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    out.push(Resource::directory(SQL_DIR, DBSU, DBSU, 0o700));
    provision(member, "00-default-roles", default_roles_sql(ctx)?, out);
    for user in roles(ctx, "pg_users")? {
        let sql = format!(
            "-- Managed by pig-install (pgsql role): user {}.\n{}",
            user.name,
            role_sql(ctx, &user)?
        );
        provision(member, &format!("10-user-{}", user.name), sql, out);
    }
    for (name, db) in databases(ctx)? {
        let sql = database_sql(ctx, db, &name)?;
        provision(member, &format!("20-database-{name}"), sql, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(
            extension_sql("vector", Some("public"), false),
            "CREATE EXTENSION IF NOT EXISTS \"vector\" WITH SCHEMA \"public\";\n"
        );
        assert!(extension_sql("pg_repack", None, true).ends_with("\\gexec\n"));
    }
}
