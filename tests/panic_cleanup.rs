//! The release binary aborts on a panic (`panic = "abort"` in Cargo.toml),
//! so no `OutputDir` is dropped: the panic hook the binary installs must
//! remove the staging folders of unfinished runs itself. Its own test
//! binary, since the hook and the list of staging folders are process-wide.

use fedsim::report::{remove_staging_on_panic, OutputDir};

#[test]
fn a_panic_removes_the_staging_folders_of_unfinished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = OutputDir::create(&tmp.path().join("runs/x")).unwrap();
    std::fs::write(out.file("metrics.csv"), "half").unwrap();
    let staging = out.path().to_path_buf();
    assert!(staging.exists());
    remove_staging_on_panic();
    // A thread's panic runs the hook; the run's folder is never dropped,
    // as under an abort.
    let out = std::mem::ManuallyDrop::new(out);
    let panicked = std::thread::spawn(|| panic!("a bug")).join();
    assert!(panicked.is_err());
    assert!(!staging.exists(), "{} is left behind", staging.display());
    assert!(!out.target().exists());
    assert_eq!(std::fs::read_dir(tmp.path().join("runs")).unwrap().count(), 0);
}
