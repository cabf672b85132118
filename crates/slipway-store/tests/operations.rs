//! What day-2 operations keep in the store: a run's non-secret `--set` values and the lock a
//! `scale` or `resume` holds, across two connections as two processes would have them.

use slipway_recipe::KeepRunning;
use slipway_store::*;

fn new_run(id: &str) -> NewRun {
    let (pid, start) = current_process_identity();
    NewRun {
        id: id.to_string(),
        name: "kept".to_string(),
        keep_running: KeepRunning::Always,
        recipe_text: "slipway: 1\nname: kept\n".to_string(),
        default_cloud: "local".to_string(),
        created_at: 1,
        owner_pid: pid,
        owner_start_time: start,
    }
}

#[test]
fn launch_sets_round_trip_and_default_to_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create_run(&new_run("r1")).unwrap();
    assert_eq!(store.launch_sets("r1").unwrap(), []);
    let sets = vec![LaunchSet {
        node: "web".into(),
        input: "port".into(),
        value: "8080 with \"quotes\"\nand a line".into(),
    }];
    store.set_launch_sets("r1", &sets).unwrap();
    let other = Store::open(dir.path()).unwrap();
    assert_eq!(other.launch_sets("r1").unwrap(), sets);
    let missing = store.set_launch_sets("nope", &sets).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(
        store.launch_sets("nope").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn one_live_holder_at_a_time_and_a_dead_one_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Store::open(dir.path()).unwrap();
    let mut b = Store::open(dir.path()).unwrap();
    a.create_run(&new_run("r1")).unwrap();
    let me = current_process_identity();
    a.lock_run("r1", "scale web +2", me, 10).unwrap();
    let lock = b.run_lock("r1").unwrap().unwrap();
    assert_eq!(lock.operation, "scale web +2");
    assert_eq!(
        (lock.owner_pid, lock.owner_start_time, lock.at),
        (me.0, me.1, 10)
    );
    // Refused while the holder lives, naming the operation.
    let refused = b.lock_run("r1", "resume", me, 11).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);
    assert!(
        refused
            .to_string()
            .contains("`scale web +2` is already in progress"),
        "{refused}"
    );
    // Released only by its holder.
    b.unlock_run("r1", (me.0, me.1 + 1)).unwrap();
    assert!(a.run_lock("r1").unwrap().is_some());
    a.unlock_run("r1", me).unwrap();
    assert!(b.run_lock("r1").unwrap().is_none());
    // A holder whose process is gone (no such pid) is taken over.
    let dead = (u32::MAX - 7, 1);
    a.lock_run("r1", "scale web -1", dead, 20).unwrap();
    b.lock_run("r1", "resume", me, 21).unwrap();
    assert_eq!(a.run_lock("r1").unwrap().unwrap().operation, "resume");
    // No lock on a run that does not exist.
    let none = a.lock_run("nope", "resume", me, 22).unwrap_err();
    assert_eq!(none.kind(), ErrorKind::NotFound, "{none}");
}
