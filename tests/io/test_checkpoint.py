"""Checkpoints: continuation on any rank count equals the uninterrupted run, bad
checkpoints are refused without touching anything, signals stop a run cleanly,
and runs killed at random moments (also while writing a checkpoint) resume to
the same final state."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

CASES = Path(__file__).parent / "cases"
AGENTS = CASES / "checkpoint_agents.toml"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIELDS = (EXAMPLES / "cytokine.toml").read_text().split("[agents.chemotaxis]")[0]


def _final_state(checkpoint):
    with h5py.File(checkpoint, "r") as f:
        state = {}
        if "agents" in f:
            order = np.argsort(f["agents"]["ids"][...])
            state = {f"agents/{k}": f["agents"][k][...][order] for k in f["agents"]}
        for k in f.get("fields", {}):
            state[f"fields/{k}"] = f["fields"][k][...]
        state.update({a: f.attrs[a] for a in ("step", "time", "next_id", "agent_count")})
    return state


def state_steps(out):
    return [int(_final_state(_newest(out))["step"])]


def _newest(out):
    return sorted((out / "checkpoints").glob("checkpoint-*.h5"))[-1]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, mpirun):
    out = tmp_path_factory.mktemp("whole")
    result = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    return _final_state(_newest(out))


@pytest.mark.mpi
@pytest.mark.parametrize("n", (1, 2, 4))
def test_written_on_two_ranks_continued_on_n_equals_the_uninterrupted_run(tmp_path, uninterrupted, n, mpirun,
                                                                          written_on):
    out = tmp_path / "out"
    first = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--quiet", "--t-end", "40")
    assert first.returncode == 0, first.stderr
    assert written_on(_newest(out)) == {2}
    second = mpirun.hybridsim(n, "run", str(AGENTS), "-o", str(out), "--restart", "latest")
    assert second.returncode == 0, second.stderr
    assert "restarted from" in second.stdout and "step 40" in second.stdout
    assert written_on(_newest(out)) == {n}
    assert written_on(out / "agents.h5") == ({2} | {n})  # the first outputs by 2 ranks, the rest by n
    state = _final_state(_newest(out))
    assert state.keys() == uninterrupted.keys()
    for key, value in uninterrupted.items():
        assert np.array_equal(state[key], value), key
    # the outputs continue where the checkpoint left off: one group per output time, in order
    with h5py.File(out / "agents.h5", "r") as f:
        times = [f["steps"][s].attrs["time"] for s in sorted(f["steps"])]
    assert times == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    rows = np.genfromtxt(out / "summary.csv", delimiter=",", names=True)
    assert list(rows["step"]) == list(range(61))


@pytest.mark.mpi
def test_fields_continue_within_solver_tolerance(tmp_path, mpirun):
    cfg = tmp_path / "fields.toml"
    cfg.write_text(FIELDS.replace("count = 1500", "count = 300").replace("t_end = 300.0", "t_end = 20.0"))
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert mpirun.hybridsim(2, "run", str(cfg), "-o", str(whole), "--quiet").returncode == 0
    assert mpirun.hybridsim(2, "run", str(cfg), "-o", str(part), "--quiet", "--t-end", "10").returncode == 0
    result = mpirun.hybridsim(4, "run", str(cfg), "-o", str(part), "--quiet", "--restart", "latest")
    assert result.returncode == 0, result.stderr
    a, b = _final_state(_newest(whole)), _final_state(_newest(part))
    for key in a:
        if key.startswith("agents/"):  # cells ignore the field here: bitwise
            assert np.array_equal(a[key], b[key]), key
    field_a, field_b = a["fields/cytokine"], b["fields/cytokine"]
    assert np.abs(field_a - field_b).max() <= 1e-7 * np.abs(field_a).max()


def _corrupt(path):
    with h5py.File(path, "r+") as f:
        ds = f["agents"]["counts"]
        data = ds[...]
        data[0, 0] += 1
        ds[...] = data


@pytest.mark.mpi
def test_bad_checkpoints_are_refused_and_nothing_is_overwritten(tmp_path, mpirun):
    out = tmp_path / "out"
    assert mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--quiet", "--t-end", "40").returncode == 0
    newest = _newest(out)
    older = sorted((out / "checkpoints").glob("checkpoint-*.h5"))[0]
    _corrupt(newest)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def refused(*args, expected):
        result = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), *args)
        assert result.returncode == 2, result.stderr
        lines = [x for x in result.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and expected in lines[0], result.stderr
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    refused("--restart", str(newest), expected="is corrupt: agent column 'counts' fails its checksum")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(older.read_bytes()[:5000])
    refused("--restart", str(truncated), expected="cannot be read (truncated or not HDF5)")
    version = tmp_path / "version.h5"
    version.write_bytes(older.read_bytes())
    with h5py.File(version, "r+") as f:
        f.attrs["format_version"] = 99
    refused("--restart", str(version), expected="has format version 99; this hybridsim")
    other_grid = tmp_path / "other.toml"
    other_grid.write_text(AGENTS.read_text().replace("cells = [20, 10]", "cells = [40, 10]"))
    result = mpirun.hybridsim(2, "run", str(other_grid), "-o", str(out), "--restart", str(older))
    expected = "does not match this config: cells is [20, 10] there and [40, 10] here"
    assert result.returncode == 2 and expected in result.stderr
    # `latest` skips the corrupt newest checkpoint, says so, and continues from the older one
    result = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--restart", "latest")
    assert result.returncode == 0, result.stderr
    assert "warning: skipping checkpoint" in result.stderr and f"restarted from {older}" in result.stdout
    # inspect verifies
    inspect = subprocess.run([sys.executable, "-m", "hybridsim", "inspect", str(_newest(out))],
                             capture_output=True, text=True, timeout=120)
    assert inspect.returncode == 0 and "checksums: all valid" in inspect.stdout and "agents:" in inspect.stdout


def _slow_config(tmp_path, t_end=60.0):
    cfg = tmp_path / "slow.toml"
    text = AGENTS.read_text().replace("count = 500", "count = 60000").replace("interval = 20.0", "interval = 2.0")
    text = text.replace("t_end = 60.0", f"t_end = {t_end}")
    cfg.write_text(text)
    return cfg


@pytest.mark.mpi
def test_sigterm_finishes_the_step_writes_a_checkpoint_and_exits_4(tmp_path, uninterrupted, mpirun):
    cfg = _slow_config(tmp_path)
    out = tmp_path / "out"
    proc = mpirun.popen(2, "run", str(cfg), "-o", str(out))
    deadline = time.time() + mpirun.timeout
    while not list((out / "checkpoints").glob("checkpoint-*.h5")) and time.time() < deadline:
        time.sleep(0.2)
    ranks = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(ranks) == 2
    for pid in ranks:  # as Slurm's --signal does: to the tasks (mpirun's children)
        os.kill(int(pid), signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=mpirun.timeout)
    assert proc.returncode == 4, stderr
    assert "stopped by a signal" in stdout and "--restart latest" in stdout
    state = _final_state(_newest(out))
    assert 0 < state["step"] < 60
    result = mpirun.hybridsim(2, "run", str(cfg), "-o", str(out), "--quiet", "--restart", "latest")
    assert result.returncode == 0, result.stderr
    assert _final_state(_newest(out))["step"] == 60


@pytest.mark.mpi
def test_killed_at_random_moments_and_resumed_reaches_the_uninterrupted_state(tmp_path, mpirun):
    """SIGKILL (the whole job) at random moments, ten times or more, including while
    checkpoints are written (every 2 steps); each time resume from the newest valid one."""
    cfg = _slow_config(tmp_path, t_end=120.0)
    reference = tmp_path / "reference"
    result = mpirun.hybridsim(2, "run", str(cfg), "-o", str(reference), "--quiet")
    assert result.returncode == 0, result.stderr
    expected = _final_state(_newest(reference))
    out = tmp_path / "out"
    rng = random.Random(12)
    kills = during_write = 0
    for attempt in range(40):
        restart = ["--restart", "latest"] if list((out / "checkpoints").glob("checkpoint-*.h5")) else []
        proc = mpirun.popen(2, "run", str(cfg), "-o", str(out), "--quiet", *restart)
        if kills >= 12:
            _, stderr = proc.communicate(timeout=mpirun.timeout)
            assert proc.returncode == 0, stderr
            break
        if attempt % 4 == 3:  # wait for a checkpoint being written, and kill in the middle of it
            deadline = time.time() + 30
            while not list((out / "checkpoints").glob(".checkpoint-*.tmp")) and time.time() < deadline:
                time.sleep(0.002)
            during_write += bool(list((out / "checkpoints").glob(".checkpoint-*.tmp")))
        else:
            time.sleep(rng.uniform(0.5, 2.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate()
    assert kills >= 10 and during_write >= 2
    assert state_steps(out) == [120]  # the newest checkpoint is the final one
    state = _final_state(_newest(out))
    for key, value in expected.items():
        assert np.array_equal(state[key], value), key


@pytest.mark.mpi
def test_a_full_disk_stops_the_run_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path, mpirun):
    """Files may not grow beyond half a checkpoint (RLIMIT_FSIZE), as on a full disk."""
    out = tmp_path / "out"
    assert mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--quiet", "--t-end", "20").returncode == 0
    kept = {p: p.read_bytes() for p in (out / "checkpoints").iterdir()}
    checkpoint_size = max(len(b) for b in kept.values())
    result = mpirun(2, [str(CASES / "limited_run.py"), str(checkpoint_size // 2), "run", str(AGENTS), "-o", str(out),
                        "--restart", "latest", "--t-end", "60"])
    assert result.returncode == 3, (result.returncode, result.stderr)
    # one line from hybridsim (MPI-IO itself may also complain about the failed write)
    lines = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert len(lines) == 1 and lines[0].startswith("error: cannot write"), result.stderr
    assert "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in (out / "checkpoints").iterdir()} == kept
    # and the run continues from it once there is room again
    result = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--quiet", "--restart", "latest")
    assert result.returncode == 0, result.stderr


@pytest.mark.mpi
def test_the_chain_job_script_checkpoints_on_sigusr1_and_the_next_job_finishes(tmp_path, mpirun):
    """slurm/chain.sbatch with mpirun in place of srun: SIGUSR1 to the batch shell (as
    --signal=B:USR1 sends it) is passed on, hybridsim checkpoints and exits 4; run again,
    the script continues from that checkpoint to the end."""
    root = Path(__file__).resolve().parents[2]
    cfg = _slow_config(tmp_path, t_end=120.0)
    out = tmp_path / "out"
    env = dict(mpirun.env(), HYBRIDSIM_LAUNCHER="mpirun -q -n 2 --oversubscribe")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    script = ["bash", str(root / "slurm" / "chain.sbatch"), str(cfg), str(out)]
    job = subprocess.Popen(script, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + mpirun.timeout
    while not list((out / "checkpoints").glob("checkpoint-*.h5")) and time.time() < deadline:
        time.sleep(0.2)
    job.send_signal(signal.SIGUSR1)
    log, _ = job.communicate(timeout=mpirun.timeout)
    assert job.returncode == 4, log
    assert "stopped with a checkpoint" in log
    stopped_at = _final_state(_newest(out))["step"]
    assert 0 < stopped_at < 120
    again = subprocess.run(script, cwd=root, env=env, capture_output=True, text=True, timeout=mpirun.timeout)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "--restart latest" in again.stdout and "run finished" in again.stdout
    assert _final_state(_newest(out))["step"] == 120


def _damage(source, target, signature: bytes):
    """A copy of ``source`` with the last HDF5 structure of this kind (local heap,
    symbol-table node, B-tree or global heap) given a wrong signature."""
    data = bytearray(source.read_bytes())
    at = data.rfind(signature)
    assert at >= 0, signature
    data[at:at + 4] = b"XXXX"
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize("signature", [b"HEAP", b"SNOD", b"TREE", b"GCOL"])
def test_a_damaged_checkpoint_is_refused_in_one_line_and_latest_falls_back(tmp_path, signature, mpirun,
                                                                           one_error_line, hybridsim_cli):
    out = tmp_path / "out"
    assert mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--quiet", "--t-end", "40").returncode == 0
    older, newest = sorted((out / "checkpoints").glob("checkpoint-*.h5"))[-2:]
    damaged = _damage(newest, tmp_path / "damaged.h5", signature)
    result = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--restart", str(damaged))
    one_error_line(result, 2, "is damaged and cannot be read")
    one_error_line(hybridsim_cli("inspect", str(damaged)), 2, "is damaged and cannot be read")
    damaged.replace(newest)
    result = mpirun.hybridsim(2, "run", str(AGENTS), "-o", str(out), "--restart", "latest")
    assert result.returncode == 0, result.stderr
    assert "warning: skipping checkpoint" in result.stderr and f"restarted from {older}" in result.stdout


def test_the_summary_continues_after_a_restart_as_if_never_stopped(tmp_path, mpirun):
    """Agent-only runs are bitwise identical, so the table of a run stopped at t = 20 min
    and continued (same rank count: 'migrated' depends on it) equals the uninterrupted
    one, the checkpoint's own row with its counters included."""
    example = EXAMPLES / "cells.toml"
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert mpirun.hybridsim(2, "run", str(example), "-o", str(whole), "--quiet", "--t-end", "40").returncode == 0
    assert mpirun.hybridsim(2, "run", str(example), "-o", str(parts), "--quiet", "--t-end", "20").returncode == 0
    result = mpirun.hybridsim(2, "run", str(example), "-o", str(parts), "--quiet", "--restart", "latest",
                              "--t-end", "40")
    assert result.returncode == 0, result.stderr
    assert (parts / "summary.csv").read_text() == (whole / "summary.csv").read_text()


def _busy_config(tmp_path):
    """Steps of a few seconds on 2 ranks (10⁸ reaction events each), many kernel calls long."""
    cfg = tmp_path / "busy.toml"
    text = AGENTS.read_text().replace("count = 500", "count = 200000").replace("interval = 20.0", "interval = 1.0")
    text = text.replace("{ products = { M = 1 }, rate = 2.0 }, { reactants = { M = 1 }, rate = 0.2 }",
                        "{ products = { M = 1 }, rate = 250.0 }, { reactants = { M = 1 }, rate = 25.0 }")
    cfg.write_text(text)
    return cfg


def _ranks_of(proc):
    ranks = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(ranks) == 2
    return [int(pid) for pid in ranks]


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_a_second_sigterm_stops_at_once_with_exit_code_5(tmp_path, mpirun):
    out = tmp_path / "out"
    proc = mpirun.popen(2, "run", str(_busy_config(tmp_path)), "-o", str(out), "--quiet")
    deadline = time.time() + mpirun.timeout
    while not list((out / "checkpoints").glob("checkpoint-*.h5")) and time.time() < deadline:
        time.sleep(0.1)
    ranks = _ranks_of(proc)
    for pid in ranks:
        os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    sent = time.time()
    for pid in ranks:
        os.kill(pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=mpirun.timeout)
    assert proc.returncode == 5, stderr
    assert time.time() - sent < 5.0  # within a kernel call, not at the end of a step
    lines = _error_lines(stderr)
    assert len(lines) == 1 and "stopped at once by a second signal (SIGTERM)" in lines[0], stderr
    assert "Traceback" not in stderr
    assert mpirun.hybridsim(1, "inspect", str(_newest(out))).returncode == 0  # the last checkpoint is intact


def test_a_step_still_running_after_the_grace_time_stops_with_exit_code_5(tmp_path, mpirun):
    out = tmp_path / "out"
    proc = mpirun.popen(2, "run", str(_busy_config(tmp_path)), "-o", str(out), "--quiet",
                        env={"HYBRIDSIM_STOP_GRACE": "0.2"})
    deadline = time.time() + mpirun.timeout
    while not list((out / "checkpoints").glob("checkpoint-*.h5")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # into the next step
    for pid in _ranks_of(proc):
        os.kill(pid, signal.SIGUSR1)
    _, stderr = proc.communicate(timeout=mpirun.timeout)
    assert proc.returncode == 5, stderr
    lines = _error_lines(stderr)
    assert len(lines) == 1 and "the step still running 0.2 s after SIGUSR1" in lines[0], stderr


def test_sigusr1_to_mpirun_itself_reaches_the_ranks_and_the_run_stops_with_a_checkpoint(tmp_path, mpirun):
    """Open MPI's mpirun forwards SIGUSR1 to the ranks and leaves them running (SIGTERM it
    forwards too, then kills them about a second later): under mpirun, send SIGUSR1."""
    out = tmp_path / "out"
    proc = mpirun.popen(2, "run", str(_slow_config(tmp_path)), "-o", str(out))
    deadline = time.time() + mpirun.timeout
    while not list((out / "checkpoints").glob("checkpoint-*.h5")) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGUSR1)
    stdout, stderr = proc.communicate(timeout=mpirun.timeout)
    assert proc.returncode == 4, stderr
    assert "SIGUSR1: finishing the step" in stdout and "stopped by a signal" in stdout
    assert 0 < _final_state(_newest(out))["step"] < 60
