"""The README's first command, `bash install/run-station.sh`, runs the whole tour and can be run again."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import ROOT


def tour(home) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGENODE_")}
    return subprocess.run(["bash", str(ROOT / "install" / "run-station.sh"), str(home)], capture_output=True,
                          text=True, env=env, timeout=600, cwd=ROOT)


def test_the_station_tour_runs_twice_from_a_fresh_home(tmp_path):
    first = tour(tmp_path / "station")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "已导入目录第 1 版（县级签名）" in first.stdout
    assert "盖章文书" in first.stdout and "验证结果：有效" in first.stdout
    assert "审计日志完好" in first.stdout and "Traceback" not in first.stdout + first.stderr
    again = tour(tmp_path / "station")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "使用已有节点" in again.stdout and "验证结果：有效" in again.stdout


def test_serve_after_the_tour_opens_the_station_page_for_the_sample_clerk(tmp_path):
    import httpx

    from tests.web.conftest import csrf_of

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("EDGENODE_")}, "EDGENODE_SERVE_PORT": "0"}
    proc = subprocess.Popen(["bash", str(ROOT / "install" / "run-station.sh"), "--serve", str(tmp_path / "station")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    try:
        seen = []
        for line in proc.stdout:                     # the tour, the accounts, then the server's first line
            seen.append(line)
            if "edgenode 已启动" in line:
                break
        started = "".join(seen)
        assert "edgenode 已启动" in started and "Traceback" not in started, started[-2000:]
        assert "以 lin（代办员）或 admin（管理员）登录" in started
        url = started.split("在 ")[-1].split(" 提供服务")[0]
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
            token = csrf_of(client.get("/login").text)
            home = client.post("/login", data={"login": "lin", "password": "Station-2026-sample", "csrf_token": token})
            assert home.status_code == 200 and "林晓燕" in home.text and "收件" in home.text
    finally:
        proc.terminate()
        proc.wait(30)
