//! Bootable node images made from a pig bundle alone: raw and qcow2 disks,
//! a hybrid ISO and a PXE set, each with pig-install run on first boot.
//! Built in later work (issue 6); this crate holds its place in the workspace.
