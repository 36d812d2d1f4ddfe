"""What "Generate" does after a Transform (RunSession.continue_with) and a saved run replayed.

Nothing a student wrote is lost: their text in a box (a draft) is used by Generate or saved
in the run they leave; a new output keeps the transformed text; a run that pauses says
"stopped" at once.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ai4artsed_desktop.events import (
    RunBlocked,
    RunResult,
    RunStopped,
    Stage,
    StageCompleted,
    StageStarted,
)
from ai4artsed_desktop.pipeline.runner import RunEvent, RunSession, replay_events
from tests.integration.run_rig import IDEA, RigFactory, collect

EDIT = "Ein roter Kreis auf blauem Grund, mit einem kleinen Fuchs"


def started(events: list[RunEvent]) -> list[Stage]:
    return [e.stage for e in events if isinstance(e, StageStarted)]


def stage_entry(record: dict[str, object], stage: str) -> dict[str, object]:
    stages = record["stages"]
    assert isinstance(stages, list)
    entry: dict[str, object] = next(s for s in stages if s["stage"] == stage)
    return entry


@pytest.mark.asyncio
async def test_a_paused_run_says_stopped_and_a_draft_is_saved_when_it_is_left(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="adult")
    events = await collect(session, until=Stage.interception)
    assert events[-1] == RunStopped(session.run_id, Stage.interception)
    assert rig.run_json(session)["status"] == "stopped"
    assert rig.store.load(session.run_id).status == "stopped"  # the History's view

    session.draft(Stage.interception, EDIT)
    assert session.drafted(Stage.interception)
    await session.stop()
    assert stage_entry(rig.run_json(session), "interception")["edited_text"] == EDIT


@pytest.mark.asyncio
async def test_the_same_inputs_generate_from_the_draft(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(level="adult")
    await collect(session, until=Stage.interception)
    session.draft(Stage.interception, EDIT)

    same = await session.continue_with(session.request)
    assert same is session
    events = await collect(same)
    assert started(events)[0] is Stage.adaptation
    assert isinstance(events[-1], RunResult)
    record = rig.run_json(session)
    assert stage_entry(record, "interception")["edited_text"] == EDIT
    assert record["status"] == "done"


@pytest.mark.asyncio
async def test_another_output_keeps_the_students_text(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", output_id="sd15")
    await collect(session, until=Stage.interception)
    session.draft(Stage.interception, EDIT)
    request = replace(session.request, output_id="p5js")

    assert session.keeps_interception(request)
    follow = await session.continue_with(request)
    assert follow is not session
    assert session.dropped_on(follow) == ()
    events = await collect(follow)
    kept = [e for e in events if isinstance(e, StageCompleted) and e.stage is Stage.interception]
    assert kept[0].text == EDIT
    assert kept[0].badge == "kept"
    assert kept[-1].badge == "safety passed"  # the student's text is checked before use
    assert Stage.interception not in started(events)  # not transformed again
    assert isinstance(events[-1], RunResult)

    new = rig.run_json(follow)
    assert new["inputs"]["output_id"] == "p5js"
    assert stage_entry(new, "interception")["edited_text"] == EDIT
    old = rig.run_json(session)  # the run left behind keeps the edit too, and is not "running"
    assert old["status"] == "stopped"
    assert stage_entry(old, "interception")["edited_text"] == EDIT


@pytest.mark.asyncio
async def test_another_output_keeps_an_unedited_text_and_a_new_idea_transforms_again(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", output_id="sd15")
    await collect(session, until=Stage.interception)
    text = session.text(Stage.interception)

    assert session.keeps_interception(replace(session.request, output_id="sdxl", lang="en"))
    assert not session.keeps_interception(replace(session.request, idea="Ein Haus am Meer"))
    follow = await session.continue_with(replace(session.request, idea="Ein Haus am Meer"))
    events = await collect(follow)
    assert Stage.interception in started(events)
    assert follow.text(Stage.interception) != text
    assert isinstance(events[-1], RunResult)


@pytest.mark.asyncio
async def test_an_edited_text_survives_a_new_rule_until_transform_is_pressed(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", config_id="bauhaus")
    await collect(session, until=Stage.interception)
    session.draft(Stage.interception, EDIT)
    request = replace(session.request, config_id="dada", rules=None)

    assert session.keeps_interception(request)  # the student's text is not replaced
    follow = await session.continue_with(request)
    events = await collect(follow)
    assert follow.text(Stage.interception) == EDIT
    assert Stage.interception not in started(events)


@pytest.mark.asyncio
async def test_an_edited_prompt_that_the_new_output_cannot_use_is_reported_and_saved(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", output_id="sd15")
    await collect(session)
    prompt = "a red circle, bauhaus poster, with a small fox"
    session.draft(Stage.adaptation, prompt)
    follow = await session.continue_with(replace(session.request, output_id="p5js"))
    assert session.dropped_on(follow) == (Stage.adaptation,)
    old = rig.run_json(session)
    assert stage_entry(old, "adaptation")["edited_text"] == prompt
    assert old["status"] == "done"  # a finished run stays finished
    events = await collect(follow)
    assert Stage.adaptation in started(events)
    assert isinstance(events[-1], RunResult)


@pytest.mark.asyncio
async def test_changed_parameters_apply_to_the_same_run(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", output_id="sd15")
    await collect(session)
    request = replace(session.request, values={"steps": 7})
    again = await session.continue_with(request)
    assert again is session
    events = await collect(again)
    assert started(events) == [Stage.generation]
    record = rig.run_json(session)
    assert record["parameters"]["steps"] == 7
    assert len(record["media"]) == 2


@pytest.mark.asyncio
async def test_replay_shows_a_saved_run_and_continues_it(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(level="adult")
    await collect(session, until=Stage.interception)
    session.draft(Stage.interception, EDIT)
    await session.stop()

    reopened, events = RunSession.replay(rig.services, rig.store.load(session.run_id))
    assert isinstance(events[0], StageStarted)
    assert events[-1] == RunStopped(session.run_id, Stage.interception)
    shown = {e.stage: e for e in events if isinstance(e, StageCompleted)}
    assert shown[Stage.interception].text == EDIT  # the student's text comes back
    assert shown[Stage.input_safety].badge == "safety passed"
    assert reopened is not None
    assert reopened.keeps_interception(reopened.request)
    follow = await reopened.continue_with(reopened.request)
    assert follow is reopened
    rest = await collect(follow)
    assert isinstance(rest[-1], RunResult)
    assert rig.run_json(reopened)["status"] == "done"


@pytest.mark.asyncio
async def test_replay_of_a_blocked_and_a_finished_run(make_rig: RigFactory) -> None:
    rig = await make_rig()
    blocked = rig.session(level="adult", idea="Wie man eine Rohrbombe baut")
    events = await collect(blocked)
    assert isinstance(events[-1], RunBlocked)
    record = rig.store.load(blocked.run_id)
    reopened, replayed = RunSession.replay(rig.services, record)
    assert reopened is None  # nothing transformed: nothing to continue
    assert isinstance(replayed[-1], RunBlocked)
    assert replayed[-1].reason == events[-1].reason

    done = rig.session(level="adult", idea=IDEA)
    result = (await collect(done))[-1]
    assert isinstance(result, RunResult)
    folder = rig.store.folder(done.run_id)
    replayed = replay_events(rig.store.load(done.run_id), folder)
    assert replayed[-1] == result


@pytest.mark.asyncio
async def test_a_checked_edit_ends_checked_not_checking(make_rig: RigFactory) -> None:
    """The student's text is checked again before use; its stage then says done."""
    rig = await make_rig()
    session = rig.session(level="kids")
    await collect(session, until=Stage.interception)
    session.draft(Stage.interception, "Ein kleiner Fuchs schläft im Schnee")
    follow = await session.continue_with(replace(session.request, output_id="sdxl"))
    events = await collect(follow)
    assert isinstance(events[-1], RunResult), events[-1]
    last = [e for e in events if getattr(e, "stage", None) is Stage.interception][-1]
    assert isinstance(last, StageCompleted)
    assert last.text == "Ein kleiner Fuchs schläft im Schnee"
