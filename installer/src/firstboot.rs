//! First boot: the `pig-install-firstboot.service` unit runs
//! `pig-install firstboot`, which applies the seed once, records the
//! outcome in `result.json`, and on later boots does nothing until the
//! seed changes. A failed seed is not retried (the unit never loops): a
//! changed seed is. Where the seed comes from is [`crate::seed_source`].
//!
//! Every run ends with one [`marker_line`] on the console, which image
//! checks (`pig-build image check`) and operators watching a serial console
//! wait for.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::engine::Stamp;

/// The unit that runs `pig-install firstboot` (the image and the .deb
/// install it as `/usr/lib/systemd/system/pig-install-firstboot.service`).
pub const UNIT: &str = include_str!("../templates/pig-install-firstboot.service");

/// The unit's file name.
pub const UNIT_NAME: &str = "pig-install-firstboot.service";

/// Where the outcome of the last first-boot apply is written.
pub const RESULT_PATH: &str = "/var/lib/pig/firstboot/result.json";

/// The start of the line first boot writes to the console when it is done.
pub const MARKER: &str = "PIG-FIRSTBOOT-COMPLETE";

/// The console line for a finished first boot: `PIG-FIRSTBOOT-COMPLETE
/// status=ok`, `status=failed`, or `status=noseed` when no source had a
/// seed (the node is left as it is).
pub fn marker_line(outcome: Option<Outcome>) -> String {
    let status = match outcome {
        Some(Outcome::Ok) => "ok",
        Some(Outcome::Failed) => "failed",
        None => "noseed",
    };
    format!("{MARKER} status={status}")
}

/// The outcome of a first-boot apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The apply finished and every check passed.
    Ok,
    /// The seed was refused or a change or check failed.
    Failed,
}

/// The content of `result.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstbootResult {
    /// ok or failed.
    pub status: Outcome,
    /// The seed's path.
    pub seed: String,
    /// sha256 of the seed file applied.
    pub seed_digest: String,
    /// Ids of the resources changed.
    pub changes: Vec<String>,
    /// Why it failed; `null` when it did not.
    pub error: Option<String>,
    /// When the apply started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
}

impl FirstbootResult {
    /// Read `path`; `None` when it is missing or not a result (a damaged
    /// record only means the seed is applied again).
    pub fn load(path: &Path) -> Option<FirstbootResult> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Write the result atomically (mode 0644).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::engine::state::save_json(self, path)
    }
}

/// What a boot does with the seed it finds.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Apply the seed: never applied, or changed since.
    Apply,
    /// This seed was applied successfully: nothing to do.
    Unchanged,
    /// This seed already failed; retrying it would fail the same way on
    /// every boot, so it is not retried until it changes.
    FailedBefore,
}

/// Decide from the seed's digest, the state stamp and the last result.
/// Success needs both records to agree: the stamp says what the node was
/// last applied with (by any means), the result that it succeeded.
pub fn decide(seed_digest: &str, stamp: &Stamp, last: Option<&FirstbootResult>) -> Decision {
    match last {
        Some(r) if r.seed_digest == seed_digest && r.status == Outcome::Failed => {
            Decision::FailedBefore
        }
        Some(r)
            if r.seed_digest == seed_digest
                && r.status == Outcome::Ok
                && stamp.seed_digest == seed_digest =>
        {
            Decision::Unchanged
        }
        _ => Decision::Apply,
    }
}

/// The console banner for a failed first boot.
pub fn banner(error: &str, result_path: &Path, retried: bool) -> String {
    let rule = "=".repeat(72);
    let next = if retried {
        "Fix the seed: the next boot applies a changed seed."
    } else {
        "This seed failed on an earlier boot and is not retried; fix the seed\nand reboot (or run `pig-install firstboot`)."
    };
    format!(
        "\n{rule}\npig-install FIRST BOOT FAILED: this node is not configured.\n\n{error}\n\nDetails: {}\n{next}\n{rule}\n",
        result_path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(digest: &str, status: Outcome) -> FirstbootResult {
        FirstbootResult {
            status,
            seed: "/etc/pigsty/seed.yml".into(),
            seed_digest: digest.into(),
            changes: Vec::new(),
            error: None,
            started_at: String::new(),
            finished_at: String::new(),
        }
    }

    fn stamp(digest: &str) -> Stamp {
        Stamp {
            seed_digest: digest.into(),
            ..Stamp::default()
        }
    }

    #[test]
    fn first_boot_applies() {
        assert_eq!(decide("a", &Stamp::default(), None), Decision::Apply);
    }

    #[test]
    fn same_seed_after_success_does_nothing() {
        let ok = result("a", Outcome::Ok);
        assert_eq!(decide("a", &stamp("a"), Some(&ok)), Decision::Unchanged);
    }

    #[test]
    fn changed_seed_applies_again() {
        let ok = result("a", Outcome::Ok);
        assert_eq!(decide("b", &stamp("a"), Some(&ok)), Decision::Apply);
        let failed = result("a", Outcome::Failed);
        assert_eq!(decide("b", &stamp("a"), Some(&failed)), Decision::Apply);
    }

    #[test]
    fn same_failed_seed_is_not_retried() {
        let failed = result("a", Outcome::Failed);
        assert_eq!(
            decide("a", &stamp("a"), Some(&failed)),
            Decision::FailedBefore
        );
        assert_eq!(
            decide("a", &Stamp::default(), Some(&failed)),
            Decision::FailedBefore
        );
    }

    #[test]
    fn a_stamp_from_another_seed_means_apply() {
        // Someone applied a different seed by hand since the first boot.
        let ok = result("a", Outcome::Ok);
        assert_eq!(decide("a", &stamp("c"), Some(&ok)), Decision::Apply);
    }

    #[test]
    fn unit_never_restarts_and_runs_firstboot() {
        assert!(UNIT.contains("\nType=oneshot\n"));
        assert!(UNIT.contains("\nExecStart=/usr/bin/pig-install firstboot\n"));
        // The seed may come from a volume or the kernel command line: the
        // unit must start without an embedded one.
        assert!(!UNIT.contains("ConditionPathExists="));
        assert!(UNIT.contains("\nWantedBy=multi-user.target\n"));
        assert!(!UNIT.contains("Restart="));
    }

    #[test]
    fn marker_lines_name_the_status() {
        assert_eq!(
            marker_line(Some(Outcome::Ok)),
            "PIG-FIRSTBOOT-COMPLETE status=ok"
        );
        assert_eq!(
            marker_line(Some(Outcome::Failed)),
            "PIG-FIRSTBOOT-COMPLETE status=failed"
        );
        assert_eq!(marker_line(None), "PIG-FIRSTBOOT-COMPLETE status=noseed");
    }

    #[test]
    fn banner_names_error_and_result() {
        let text = banner("seed.yml:3: bad", Path::new(RESULT_PATH), true);
        assert!(text.contains("FIRST BOOT FAILED"));
        assert!(text.contains("seed.yml:3: bad"));
        assert!(text.contains(RESULT_PATH));
    }
}
