"""Evaluations (好差评): after service only, by the applicant, one per visit, never edited; a 差评 is followed
up within 2 and rectified within 15 working days. Real nodes, real SQLite, the sample catalog."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgenode.cases import fold as F
from edgenode.cases.evaluation import evaluate, follow_up_bad_rating, report_rectification
from edgenode.cases.followup import decide_case, handover_case, review_case
from edgenode.cases.service import Intake, load_case, load_events, receive_case
from edgenode.cases.view import case_view
from edgenode.errors import CaseError
from tests.conftest import fill_form, item_named

MEDIATION = "人民调解申请"  # 授权办理 at the village: accepted on the spot, the station decides
DIBAO = "最低生活保障申请"   # complex receipts are registered first


def receive(node, scans, name=MEDIATION, **kw):
    item = item_named(name)
    files = kw.pop("files", None)
    if files is None:
        files = {m["id"]: scans["pdf"] for m in item["materials"] if m.get("required", True)}
    return receive_case(node, Intake(item_code=item["code"], form=fill_form(item), files=files, **kw), staff="代办员甲")


def counts(node):
    return tuple(node.store.query_one(f"SELECT count(*) FROM {t}")[0] for t in ("events", "cases", "audit"))


def test_evaluation_is_recorded_by_name_with_its_code_system_channel_and_the_applicant_as_giver(station, scans):
    case = receive(station, scans)
    got = evaluate(station, case.case_id, level="基本满意", channel="现场评价器", comment="办事很快", staff="代办员甲")
    assert got["level"] == "基本满意" and got["code"] == 3 and got["code_system"] == "GB/T 39046"
    assert got["channel"] == "现场评价器" and got["given_by"] == "applicant" and got["recorded_by"] == "代办员甲"
    assert got["visit_kind"] == "acceptance" and got["bad"] is False and got["follow_up_due"] is None
    event = next(e for e in load_events(station, case.case_id) if e.type == F.EVALUATION_GIVEN)
    assert event.payload["given_by"] == "applicant" and event.payload["level"] == "基本满意"
    audit = station.store.query_one("SELECT detail FROM audit WHERE action = 'case.evaluate'")["detail"]
    assert "办事很快" not in audit  # the comment may hold personal data: never in the audit log


@pytest.mark.parametrize("level", ["5", "好评", "★★★★★", "满意 ", "非常好", ""])
def test_level_must_be_one_of_the_five_names(station, scans, level):
    case = receive(station, scans)
    before = counts(station)
    if level.strip() in F.LEVELS:
        evaluate(station, case.case_no, level=level, channel="扫码", staff="代办员甲")
        return
    with pytest.raises(CaseError) as err:
        evaluate(station, case.case_no, level=level, channel="扫码", staff="代办员甲")
    assert err.value.code == "CASE_049"
    assert counts(station) == before


def test_gb_codes_run_from_very_satisfied_to_very_dissatisfied(station, scans):
    case = receive(station, scans)
    got = evaluate(station, case.case_no, level="非常不满意", channel="扫码", staff="代办员甲")
    assert got["code"] == 5 and got["bad"] is True
    assert [F.LEVELS.index(name) + 1 for name in ("非常满意", "不满意")] == [1, 4]


def test_a_staff_channel_is_refused(station, scans):
    case = receive(station, scans)
    for channel in ("工作人员代评", "", "窗口"):
        with pytest.raises(CaseError) as err:
            evaluate(station, case.case_no, level="满意", channel=channel, staff="代办员甲")
        assert err.value.code == "CASE_050"


def test_no_evaluation_before_service(station, scans):
    case = receive(station, scans, name=DIBAO, files={"sfz": scans["pdf"]}, complex_=True)
    assert case.status == "registered"
    before = counts(station)
    with pytest.raises(CaseError) as err:
        evaluate(station, case.case_no, level="满意", channel="现场评价器", staff="代办员甲")
    assert err.value.code == "CASE_052"
    assert counts(station) == before
    review_case(station, case.case_no, defective={}, staff="审核员")  # a service outcome: the notice
    assert evaluate(station, case.case_no, level="满意", channel="短信邀请", staff="代办员甲")["visit_kind"] in (
        "one_time", "acceptance")


def test_a_visit_is_evaluated_once_and_never_edited_a_later_visit_again(station, scans):
    case = receive(station, scans)
    first = evaluate(station, case.case_no, level="满意", channel="现场评价器", staff="代办员甲")
    before = counts(station)
    for level in ("非常满意", "满意"):
        with pytest.raises(CaseError) as err:
            evaluate(station, case.case_no, level=level, channel="扫码", staff="代办员乙")
        assert err.value.code == "CASE_053"
    assert counts(station) == before
    decide_case(station, case.case_no, approve=True, reason=None, staff="站长")
    second = evaluate(station, case.case_no, level="非常满意", channel="扫码", staff="代办员甲")
    assert second["visit"] != first["visit"] and second["visit_kind"] == "decision"
    state = load_case(station, case.case_no)[0]
    assert [e["level"] for e in state.evaluations] == ["满意", "非常满意"]
    assert all(e["counted"] for e in state.evaluations)


def test_bad_rating_due_dates_count_working_days(station, scans, clock):
    clock.set("2026-11-20T15:00:00")  # a Friday
    case = receive(station, scans)
    got = evaluate(station, case.case_no, level="不满意", channel="扫码", comment="等候时间长", staff="代办员甲")
    assert got["follow_up_due"] == "2026-11-24"        # Monday, Tuesday: not Sunday the 22nd
    assert got["rectification_due"] == "2026-12-11"    # three working weeks, not 5 December
    assert got["follow_up_due"] == station.calendar.add_working_days(date(2026, 11, 20), 2).due.isoformat()
    assert got["rectification_due"] == station.calendar.add_working_days(date(2026, 11, 20), 15).due.isoformat()


def test_bad_rating_follow_up_then_rectification_each_once(station, scans, clock):
    clock.set("2026-11-20T15:00:00")
    case = receive(station, scans)
    evaluate(station, case.case_no, level="非常不满意", channel="扫码", staff="代办员甲")
    with pytest.raises(CaseError) as err:
        report_rectification(station, case.case_no, report="已整改", staff="站长")
    assert err.value.code == "CASE_056"
    clock.set("2026-11-23T10:00:00")
    state = follow_up_bad_rating(station, case.case_no, note="电话回访，申请人反映等候时间长", staff="站长")
    assert state.evaluations[0]["followed_up"]["on"] == "2026-11-23"
    with pytest.raises(CaseError) as err:
        follow_up_bad_rating(station, case.case_no, note="再次回访", staff="站长")
    assert err.value.code == "CASE_055"
    state = report_rectification(station, case.case_no, report="增设取号机，高峰期增开窗口", staff="站长")
    assert state.evaluations[0]["rectified"]["on"] == "2026-11-23"
    with pytest.raises(CaseError) as err:
        report_rectification(station, case.case_no, report="再报", staff="站长")
    assert err.value.code == "CASE_057"


def test_follow_up_needs_a_bad_rating(station, scans):
    case = receive(station, scans)
    evaluate(station, case.case_no, level="满意", channel="扫码", staff="代办员甲")
    with pytest.raises(CaseError) as err:
        follow_up_bad_rating(station, case.case_no, note="回访", staff="站长")
    assert err.value.code == "CASE_054"


# -- the case view: invitation and overdue flags --------------------------------------------------------
def test_view_flags_an_invitation_owed_24_hours_after_service_until_evaluated(station, scans, clock):
    clock.set("2026-11-16T10:00:00")
    case = receive(station, scans)
    state = load_case(station, case.case_no)[0]
    invite = case_view(state, today=date(2026, 11, 16), calendar=station.calendar,
                       now=station.now())["evaluation"]["invite"]
    assert invite["visit_kind"] == "acceptance" and invite["due_by"].startswith("2026-11-17T10:00")
    assert invite["overdue"] is False
    clock.set("2026-11-17T10:01:00")
    assert case_view(state, today=date(2026, 11, 17), calendar=station.calendar,
                     now=station.now())["evaluation"]["invite"]["overdue"] is True
    evaluate(station, case.case_no, level="满意", channel="短信邀请", staff="代办员甲")
    view = case_view(load_case(station, case.case_no)[0], today=date(2026, 11, 17), calendar=station.calendar)
    assert view["evaluation"]["invite"] is None and view["evaluation"]["count"] == 1


def test_view_shows_bad_rating_dues_and_when_they_are_overdue(station, scans, clock):
    clock.set("2026-11-20T15:00:00")
    case = receive(station, scans)
    evaluate(station, case.case_no, level="不满意", channel="扫码", staff="代办员甲")
    state = load_case(station, case.case_no)[0]
    on_time = case_view(state, today=date(2026, 11, 24), calendar=station.calendar)
    pending = on_time["evaluation"]["bad_pending"]
    assert [(p["follow_up_due"], p["follow_up_overdue"]) for p in pending] == [("2026-11-24", False)]
    late = case_view(state, today=date(2026, 11, 25), calendar=station.calendar)
    assert late["evaluation"]["bad_pending"][0]["follow_up_overdue"] is True
    assert late["evaluations"][0]["follow_up_overdue"] is True
    assert late["evaluations"][0]["rectification_overdue"] is False
    clock.set("2026-11-26T09:00:00")
    follow_up_bad_rating(station, case.case_no, note="回访", staff="站长")
    clock.set("2026-12-14T09:00:00")
    report_rectification(station, case.case_no, report="整改", staff="站长")
    done = case_view(load_case(station, case.case_no)[0], today=date(2026, 12, 14), calendar=station.calendar)
    assert done["evaluation"]["bad_pending"] == []
    assert done["evaluations"][0]["follow_up_overdue"] and done["evaluations"][0]["rectification_overdue"]


# -- the command line -------------------------------------------------------------------------------------
def test_cli_evaluate_follow_up_rectify_and_show_as_json(tmp_path):
    import json

    from tests.conftest import SAMPLE_CATALOG, VILLAGE
    from tests.test_cli import ok_json, run

    home = tmp_path / "station"
    ok_json("init", "--role", "station", "--division", VILLAGE, "--name", "罗源县起步镇上长治村便民服务站", home=home)
    ok_json("catalog", "import", str(SAMPLE_CATALOG), home=home)
    item = item_named(MEDIATION)
    form = tmp_path / "form.json"
    form.write_text(json.dumps(fill_form(item), ensure_ascii=False), encoding="utf-8")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    materials = [a for m in item["materials"] if m.get("required", True) for a in ("--material", f"{m['id']}={scan}")]
    case = ok_json("case", "receive", "--item", item["code"], "--form", str(form), *materials, home=home,
                   now="2026-11-20T15:00:00")
    got = ok_json("case", "evaluate", case["case_no"], "--level", "不满意", "--channel", "现场评价器",
                  "--comment", "等候时间长", home=home, now="2026-11-20T15:05:00")
    assert got["level"] == "不满意" and got["code"] == 4 and got["given_by"] == "applicant"
    assert got["recorded_by"] == "代办员甲" and got["follow_up_due"] == "2026-11-24"
    human = run("case", "evaluate", case["case_no"], "--level", "满意", "--channel", "扫码", home=home,
                now="2026-11-20T15:06:00")
    assert human.returncode == 1 and "CASE_053" in human.stderr
    bad = run("case", "evaluate", case["case_no"], "--level", "五星", "--channel", "扫码", "--json", home=home)
    assert bad.returncode == 1 and "CASE_049" in bad.stdout + bad.stderr
    ok_json("case", "follow-up", case["case_no"], "--note", "电话回访", home=home, now="2026-11-23T09:00:00")
    ok_json("case", "rectify", case["case_no"], "--report", "增开窗口", home=home, now="2026-11-30T09:00:00")
    shown = ok_json("case", "show", case["case_no"], home=home, now="2026-11-30T09:00:00")
    [e] = shown["evaluations"]
    assert e["followed_up"]["on"] == "2026-11-23" and e["rectified"]["on"] == "2026-11-30"
    assert "EvaluationGiven" in [ev["type"] for ev in shown["events"]]
    text = run("case", "show", case["case_no"], home=home, now="2026-11-30T09:00:00").stdout
    assert "不满意" in text and "申请人本人" in text and "现场评价器" in text
    help_text = run("case", "evaluate", "--help").stdout
    assert "工作人员只作记录" in help_text


# -- merge: concurrent evaluations of one visit, order and duplication ------------------------------------
@pytest.fixture
def laptop(tmp_path, clock):
    from tests.conftest import make_node

    node = make_node(tmp_path / "laptop", clock, role="field", name="上长治村上门服务终端")
    yield node
    node.close()


def share(*nodes):
    from edgenode.cases.exchange import export_events, import_events

    for target in nodes:
        for source in nodes:
            if source is not target:
                import_events(target, export_events(source), staff="同步")


def test_concurrent_evaluations_of_one_visit_at_two_nodes_open_a_visible_conflict(station, laptop, scans, capsys):
    from edgenode.cases.edits import list_conflicts, resolve_conflict

    case = receive(station, scans)
    share(station, laptop)
    at_station = evaluate(station, case.case_id, level="满意", channel="现场评价器", staff="代办员甲")
    at_laptop = evaluate(laptop, case.case_id, level="非常不满意", channel="扫码", staff="上门服务员")
    assert at_station["visit"] == at_laptop["visit"]
    share(station, laptop)
    a, b = load_case(station, case.case_id)[0], load_case(laptop, case.case_id)[0]
    assert a.to_dict() == b.to_dict()
    assert sorted(e["level"] for e in a.evaluations) == ["满意", "非常不满意"]  # never silently two, never one lost
    assert sum(e["counted"] for e in a.evaluations) == 1
    [conflict] = a.open_conflicts
    assert conflict["kind"] == "evaluation" and conflict["field"] == F.EVALUATION_KEY + at_station["visit"]
    assert {v["author_node"] for v in conflict["values"]} == {station.config.node_id, laptop.config.node_id}
    counted = next(e for e in a.evaluations if e["counted"])
    assert conflict["winner"] == counted["event"]
    assert [c["field"] for c in list_conflicts(station)] == [conflict["field"]]
    from edgenode.commands.conflicts import _print_conflicts

    _print_conflicts({"conflicts": list_conflicts(station)})
    printed = capsys.readouterr().out
    assert "评价" in printed and "非常不满意" in printed and "以先作出的评价为准" in printed
    with pytest.raises(CaseError) as err:  # the visit is evaluated: a third one is refused
        evaluate(station, case.case_id, level="满意", channel="扫码", staff="代办员甲")
    assert err.value.code == "CASE_053"
    resolved = resolve_conflict(station, case.case_id, conflict["field"], counted["level"], "站长")
    assert resolved.open_conflicts == [] and len(resolved.evaluations) == 2
    share(station, laptop)
    assert load_case(laptop, case.case_id)[0].open_conflicts == []


def test_an_evaluation_made_after_seeing_one_of_the_same_visit_is_late_not_applied(station, scans):
    from sync.envelope import Event, heads, new_event_id

    case = receive(station, scans)
    first = evaluate(station, case.case_id, level="满意", channel="扫码", staff="代办员甲")
    events = load_events(station, case.case_id)
    forged = Event(id=new_event_id(int(station.now().timestamp() * 1000) + 5), case_id=case.case_id,
                   type=F.EVALUATION_GIVEN, hlc=f"{int(station.now().timestamp() * 1000) + 5:013d}.000000.n9",
                   author_node="n9", author_staff="某人", causal_base=heads(events),
                   payload={**next(e for e in events if e.type == F.EVALUATION_GIVEN).payload, "level": "非常满意"})
    state = F.fold(events + [forged])
    assert [e["event"] for e in state.evaluations] == [first["event"]]
    assert forged.id in state.late_events and state.open_conflicts == []


def _synthetic(draws):
    """A received, accepted, then decided case; evaluations by several nodes, each of the acceptance or the
    decision, having seen the events before it or not; follow-ups and acknowledgements."""
    from sync.envelope import Event

    received = Event(id="00000000-0000-7000-8000-000000000000", case_id="c", type=F.CASE_RECEIVED,
                     hlc="0000000001000.000000.n1", author_node="n1", author_staff="甲",
                     payload={"case_no": "N-1", "item": {"code": "X", "version": 1, "name": "调解"}, "applicant": {},
                              "form": {}, "materials": {}, "received_at": "2026-11-16T09:00:00+08:00",
                              "received_on": "2026-11-16"})
    accepted = Event(id="00000000-0000-7000-8000-000000000001", case_id="c", type=F.CASE_ACCEPTED,
                     hlc="0000000001001.000000.n1", author_node="n1", author_staff="甲", causal_base=(received.id,),
                     payload={"accepted_on": "2026-11-16", "issued_at": "2026-11-16T09:00:00+08:00"})
    decided = Event(id="00000000-0000-7000-8000-000000000002", case_id="c", type=F.CASE_DECIDED,
                    hlc="0000000001002.000000.n1", author_node="n1", author_staff="甲", causal_base=(accepted.id,),
                    payload={"outcome": "approved", "by_role": "station", "issued_at": "2026-11-17T09:00:00+08:00"})
    events = [received, accepted, decided]
    for index, (kind, visit, level, node, saw_previous, wall) in enumerate(draws):
        base = (events[-1].id,) if saw_previous else ((decided if visit else accepted).id,)
        eid = f"00000000-0000-7000-8000-{index + 100:012d}"
        hlc = f"{1010 + wall:013d}.{index:06x}.{node}"
        target = next((e for e in reversed(events) if e.type == F.EVALUATION_GIVEN), None)
        if kind == 0 or target is None:
            events.append(Event(id=eid, case_id="c", type=F.EVALUATION_GIVEN, hlc=hlc, author_node=node,
                                author_staff="乙", causal_base=base,
                                payload={"level": level, "code": F.LEVELS.index(level) + 1, "channel": "扫码",
                                         "visit": (decided if visit else accepted).id, "given_by": "applicant",
                                         "given_at": "2026-11-17T10:00:00+08:00"}))
        elif kind == 1:
            events.append(Event(id=eid, case_id="c", type=F.BAD_RATING_FOLLOWED_UP, hlc=hlc, author_node=node,
                                author_staff="乙", causal_base=(target.id,),
                                payload={"evaluation": target.id, "on": f"2026-11-{18 + wall % 5}", "note": "回访"}))
        else:
            events.append(Event(id=eid, case_id="c", type=F.CONFLICT_RESOLVED, hlc=hlc, author_node=node,
                                author_staff="乙", causal_base=tuple(e.id for e in events[3:]),
                                payload={"field": F.EVALUATION_KEY + target.payload["visit"],
                                         "chosen_value": target.payload["level"],
                                         "event_ids_resolved": [target.id]}))
    return events


evaluation_draws = st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.sampled_from(F.LEVELS),
                                      st.sampled_from(["n1", "n2", "n3"]), st.booleans(), st.integers(0, 30)),
                            max_size=10).map(_synthetic)


@settings(max_examples=200, deadline=None)
@given(evaluation_draws, st.randoms(use_true_random=False), st.lists(st.integers(0, 40), max_size=6))
def test_any_order_or_duplication_of_evaluation_events_folds_the_same(events, rnd, dup_indexes):
    shuffled = list(events) + [events[i % len(events)] for i in dup_indexes]
    rnd.shuffle(shuffled)
    state = F.fold(shuffled)
    assert state.to_dict() == F.fold(events).to_dict()
    for visit in {e["visit"] for e in state.evaluations}:  # one counted per visit; concurrent ones visible
        listed = [e for e in state.evaluations if e["visit"] == visit]
        assert sum(e["counted"] for e in listed) == 1
        conflicts = [c for c in state.conflicts if c["field"] == F.EVALUATION_KEY + visit]
        assert len(conflicts) == (1 if len(listed) > 1 else 0)
        if conflicts:
            assert {v["event"] for v in conflicts[0]["values"]} == {e["event"] for e in listed}
    given_ids = {e.id for e in events if e.type == F.EVALUATION_GIVEN}
    assert given_ids == {e["event"] for e in state.evaluations} | (given_ids & set(state.late_events))


# -- small fixes: by_role on refusals, the index for conflicts list ---------------------------------------
def test_a_refusal_records_the_refusing_nodes_role_and_old_refusals_fold_without_it(station, scans):
    from edgenode.cases.followup import reject_case

    case = receive(station, scans, name=DIBAO, files={"sfz": scans["pdf"]}, complex_=True)
    state = reject_case(station, case.case_no, reason="不属于本机关职权范围", legal_basis="行政许可法第三十二条",
                        competent_body=None, staff="代办员甲")
    assert state.rejection["by_role"] == "station"
    events = load_events(station, case.case_id)
    old = [e if e.type != F.CASE_REJECTED else
           type(e)(**{**e.__dict__, "payload": {k: v for k, v in e.payload.items() if k != "by_role"}})
           for e in events]
    folded = F.fold(old)
    assert folded.status == "rejected" and "by_role" not in folded.rejection
    assert [v["kind"] for v in folded.visits] == ["rejection"]


def test_conflicts_list_finds_contested_cases_through_an_index(station):
    plan = " ".join(str(tuple(r)) for r in station.store.query(
        "EXPLAIN QUERY PLAN SELECT case_id FROM events WHERE type IN (?, ?) GROUP BY case_id HAVING count(*) > 1",
        (F.EVALUATION_GIVEN, F.CASE_DECIDED)))
    assert "events_by_type" in plan and "SCAN events" not in plan.replace("USING COVERING INDEX", "")


def test_conflict_candidates_are_cases_with_two_events_of_one_kind_not_every_concluded_case(station, laptop, scans):
    from edgenode.cases.edits import contested_cases_query

    plain = receive(station, scans)
    decide_case(station, plain.case_no, approve=True, reason=None, staff="站长")
    handover_case(station, plain.case_no, method="窗口领取", recipient=None, staff="站长")
    evaluate(station, plain.case_no, level="满意", channel="扫码", staff="代办员甲")
    twice = receive(station, scans)
    share(station, laptop)
    evaluate(station, twice.case_id, level="满意", channel="扫码", staff="代办员甲")
    evaluate(laptop, twice.case_id, level="满意", channel="现场评价器", staff="上门服务员")
    share(station, laptop)
    assert [r["case_id"] for r in station.store.query(*contested_cases_query())] == [twice.case_id]
