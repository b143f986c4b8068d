"""The pages' content over plain HTTP: 首页 (today's cases, deadlines in working days, ID numbers masked),
事项 (search with clerk aliases, the full guide)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from edgenode.cases.service import Intake, receive_case
from tests.conftest import fill_form, id_number, item_named

PENSION_REG = "城乡居民基本养老保险参保登记"      # promised 1 working day


def _receive(web, scans) -> str:
    item = item_named(PENSION_REG)
    with web.node() as node:
        state = receive_case(node, Intake(item_code=item["code"], form=fill_form(item),
                                          files={"sfz": scans["pdf"], "cbdjb": scans["png"]}), staff="clerk")
    return state.case_no


def test_home_lists_todays_cases_and_deadlines_with_id_numbers_masked(web, scans):
    case_no = _receive(web, scans)
    full = id_number()
    clerk = web.signed_in("clerk")
    page = clerk.get("/").get_data(as_text=True)
    assert case_no in page and PENSION_REG in page
    assert full not in page and f"{full[:6]}{'*' * 8}{full[-4:]}" in page
    assert "今天收件（1）" in page and "2026-11-17" in page           # Monday + 1 working day
    web.clock.at += timedelta(days=3)                                   # Thursday: 2 working days late
    page = web.signed_in("clerk").get("/").get_data(as_text=True)
    assert "已超期 2 个工作日" in page and "今天收件（0）" in page and full not in page


def test_home_shows_the_earliest_deadlines_first_and_says_how_many_are_due(web, scans):
    first = [_receive(web, scans) for _ in range(30)]                  # Monday: due Tuesday 11-17
    web.clock.at += timedelta(days=1)
    later = _receive(web, scans)                                        # Tuesday: due Wednesday 11-18
    web.clock.at += timedelta(days=1)
    page = web.signed_in("clerk").get("/").get_data(as_text=True)      # Wednesday
    deadlines = page.split("<h2>今天收件", 1)[0]
    assert "3 个工作日内到期：31 件" in deadlines and "只列出最早到期的 30 件" in deadlines
    assert all(case_no in deadlines for case_no in first) and later not in deadlines
    assert deadlines.count("已超期 1 个工作日") == 30


def test_home_shows_a_case_as_it_is_now_once_it_gained_events(web, scans):
    from edgenode.cases.followup import correct_case
    from edgenode.cases.rules import MaterialMarks

    item = item_named(PENSION_REG)
    with web.node() as node:
        state = receive_case(node, Intake(item_code=item["code"], form=fill_form(item), files={"sfz": scans["pdf"]}),
                             staff="clerk")
    clerk = web.signed_in("clerk")

    def todays_row() -> str:
        page = clerk.get("/").get_data(as_text=True)
        return page.split("<h2>今天收件", 1)[1].split(state.case_no, 1)[1].split("</tr>", 1)[0]

    assert "已一次性告知" in todays_row() and "已一次性告知" in todays_row()    # the second from the kept fold
    with web.node() as node:
        correct_case(node, state.case_id, files={"cbdjb": scans["png"]}, marks=MaterialMarks(), staff="clerk")
    assert "已受理" in todays_row()


def test_home_shows_sync_and_conflicts(web):
    page = web.signed_in("reviewer").get("/").get_data(as_text=True)
    assert "待发送数据包" in page and "待处理冲突" in page and "未设置上级节点" in page


@given(st.text(alphabet="0123456789X", min_size=0, max_size=25))
def test_the_one_masking_helper_keeps_only_the_first_6_and_last_4(number):
    from edgenode.web.ui import mask_id

    masked = mask_id(number)
    if len(number) <= 10:
        assert masked == number
    else:
        assert masked[:6] == number[:6] and masked[-4:] == number[-4:] and set(masked[6:-4]) == {"*"}
        assert len(masked) == len(number)


def test_search_understands_clerk_aliases_and_the_guide_is_complete(web):
    clerk = web.signed_in("clerk")
    found = clerk.get("/items?q=低保").get_data(as_text=True)
    assert "最低生活保障申请" in found
    item = item_named("最低生活保障申请")
    guide = clerk.get(f"/items/{item['code']}").get_data(as_text=True)
    assert item["conditions"][:20] in guide and str(item["promised_limit_days"]) in guide
    for material in item["materials"]:
        assert material["name"] in guide
        for point in material["review_points"]:
            assert point in guide
        for form in (material["blank_form"], material["sample_form"]):
            assert form is None or form in guide
    for field in item["form"]["fields"]:
        assert field["label"] in guide


def test_an_empty_search_lists_items_and_a_miss_says_so(web):
    clerk = web.signed_in("clerk")
    assert clerk.get("/items").get_data(as_text=True).count("/items/") >= 10
    assert "没有找到相符的事项" in clerk.get("/items?q=不存在的事项名").get_data(as_text=True)
