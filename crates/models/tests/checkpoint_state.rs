//! A run directory's checkpoint bookkeeping: the warning for an unfinished
//! run, and the temporary checkpoint directories of killed runs.

use wearlang_models::checkpoint::{
    read_state, remove_stale_checkpoint_temps, unfinished_warning, STATE_FILE,
};
use wearlang_models::TrainState;

#[test]
fn an_unfinished_run_is_named_with_its_step() {
    let dir = tempfile::tempdir().unwrap();
    assert!(unfinished_warning(dir.path()).is_none());
    let ckpt = dir.path().join("checkpoint");
    std::fs::create_dir_all(&ckpt).unwrap();
    let mut state = TrainState {
        step: 100,
        total_steps: 300,
        ..TrainState::default()
    };
    std::fs::write(
        ckpt.join(STATE_FILE),
        serde_json::to_string(&state).unwrap(),
    )
    .unwrap();
    let w = unfinished_warning(dir.path()).unwrap();
    assert!(
        w.contains(&dir.path().display().to_string()) && w.contains("step 100 of 300"),
        "{w}"
    );
    assert_eq!(read_state(&ckpt).unwrap().step, 100);
    state.step = 300;
    state.finished = true;
    std::fs::write(
        ckpt.join(STATE_FILE),
        serde_json::to_string(&state).unwrap(),
    )
    .unwrap();
    assert!(unfinished_warning(dir.path()).is_none());
    // The fields added for the log's sums are left out when empty, and an
    // older state.json without them reads.
    let text = std::fs::read_to_string(ckpt.join(STATE_FILE)).unwrap();
    assert!(!text.contains("log_sums"), "{text}");
}

#[test]
fn temporary_checkpoints_of_killed_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // 999999999 is above any Linux pid_max: a process that is gone.
    let dead = out.join(".checkpoint.tmp-999999999");
    let mine = out.join(format!(".checkpoint.tmp-{}", std::process::id()));
    let maybe_alive = out.join(".checkpoint.tmp-1");
    for d in [&dead, &mine, &maybe_alive] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("model.safetensors"), b"half").unwrap();
    }
    let removed = remove_stale_checkpoint_temps(out);
    if cfg!(target_os = "linux") {
        assert_eq!(removed, 1);
        assert!(!dead.exists());
    }
    assert!(mine.exists() && maybe_alive.exists());
    // Under the run directory's lock no other process writes there.
    let _lock = wearlang_core::fs::lock_run_dir(out).unwrap();
    remove_stale_checkpoint_temps(out);
    assert!(!maybe_alive.exists());
    assert!(mine.exists());
}
