//! A failed disk build leaves nothing behind: no output file and no
//! staging directory beside it.

use std::process::Command;

use pig_images::{DiskSpec, Error};

#[test]
fn rootfs_without_a_kernel_fails_cleanly() {
    let have_tar = Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_tar {
        eprintln!("skipping: tar is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("boot")).unwrap();
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/os-release"), "ID=debian\n").unwrap();
    let tar = dir.path().join("rootfs.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&tree)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());

    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("node.raw");
    let err = pig_images::build_raw(&tar, &DiskSpec::new(1 << 30, "s", 0), &out).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("rootfs.tar: /boot"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // A disk too small for the layout is refused before any work.
    let err = pig_images::build_raw(&tar, &DiskSpec::new(64 << 20, "s", 0), &out).unwrap_err();
    assert!(err.to_string().contains("disk size"), "{err}");
}
