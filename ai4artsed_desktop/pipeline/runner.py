"""One run of the pipeline as an async stream of typed events (product.md §2).

A :class:`RunSession` walks the stages in order::

    input_safety -> interception -> adaptation -> translation -> output_safety -> generation

``advance(until=...)`` runs the next stages and stops after ``until`` (the record then says
``stopped``: nothing runs); the caller may then :meth:`RunSession.edit` a stage's text and call
``advance`` again, which continues with the stage after the edited one. Every step is written
to the run's ``run.json`` as it happens, so a crash, a cancel or a failure leaves a record that
says how far the run got.

The session also decides what "Generate" means after a Transform
(:meth:`RunSession.continue_with`): the student's texts in the boxes (:meth:`RunSession.draft`)
are used, never thrown away; a changed output, level or language keeps the transformed text;
parameters apply to this run. :meth:`RunSession.replay` turns a saved run back into the
events that show it, and a session that continues it.

Cancelling the task that iterates ``advance`` cancels the stage in flight: LLM streams are
closed, ComfyUI work is interrupted or dequeued (the clients do that when their stream is
closed early), and the record is saved with status ``cancelled`` before the
``CancelledError`` travels on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..backends.ollama import OllamaClient
from ..backends.vram import VramArbiter
from ..content.schema import (
    ContentLibrary,
    InterceptionConfig,
    LlmParams,
    MediaType,
    OutputConfig,
    lora_fits,
)
from ..content.schema import Route as OutputRoute
from ..errors import AppError, ConfigError, UserCancelled
from ..events import (
    RunBlocked,
    RunCancelled,
    RunFailed,
    RunPreview,
    RunProgress,
    RunResult,
    RunStopped,
    SavedFile,
    Stage,
    StageChecking,
    StageCompleted,
    StageStarted,
    StageText,
)
from ..settings import Settings
from ..store.record import (
    LoraApplied,
    MediaKind,
    RunError,
    RunInputs,
    RunRecord,
    RunStatus,
    StageRecord,
    utc_now,
)
from ..store.review_log import ReviewLog
from ..store.runs import RunStore, owner_id
from ..store.video import frames_to_check
from . import generation
from .answer_checks import strip_echoes
from .answers import clean_text, extract_code, split_music
from .checked_llm import Checked, ask_checked
from .checked_stage import checked_badge as _checked_badge
from .checked_stage import llm_seed, refuse_unusable
from .checked_stage import stage_kind as _stage_kind
from .comfy_cleanup import discard_server_copies
from .lora import AppliedLora, LoraSpec
from .model_status import ModelStatusBoard
from .prompts import Message, build_adaptation, build_interception, build_translation, llm_options
from .providers import ProviderRegistry
from .routing import resolve
from .safety import SafetyError, SafetyGate, SafetyOutcome, needs_translation
from .safety_media import VISUAL_MEDIA, MediaGate, MediaOutcome
from .safety_policy import TextCheck, policy_for
from .safety_steps import Block, log_block
from .seeds import SeedPolicy
from .workflow import Graph

log = logging.getLogger(__name__)

STAGES = (
    Stage.input_safety,
    Stage.interception,
    Stage.adaptation,
    Stage.translation,
    Stage.output_safety,
    Stage.generation,
)
EDITABLE = frozenset({Stage.interception, Stage.adaptation, Stage.translation})

#: LLM parameters of the stages after the interception (the config's own apply there).
ADAPTATION_PARAMS = {
    MediaType.code: LlmParams(temperature=0.4, top_p=0.9, max_tokens=3000),
    MediaType.music: LlmParams(temperature=0.6, top_p=0.9, max_tokens=900),
}
DEFAULT_ADAPTATION = LlmParams(temperature=0.5, top_p=0.9, max_tokens=400)
TRANSLATION_PARAMS = LlmParams(temperature=0.1, top_p=0.9, max_tokens=900)

RunEvent = (
    StageStarted
    | StageChecking
    | StageText
    | StageCompleted
    | RunProgress
    | RunPreview
    | RunBlocked
    | RunFailed
    | RunCancelled
    | RunStopped
    | RunResult
)


class RunBackends(generation.Backends, Protocol):
    """The BackendManager as the runner sees it."""

    async def ollama(self) -> OllamaClient:
        """A ready Ollama client."""
        ...


@dataclass(frozen=True)
class RunRequest:
    """What the student asked for.

    Attributes:
        rules: The rules text; None takes the config's rules in ``lang``, "" is "your call".
        seed: A fixed seed (expert mode "lock"); None lets the seed policy choose.
        values: Output parameters (width, height, steps, cfg, seconds, negative).
    """

    idea: str
    output_id: str
    config_id: str = ""
    rules: str | None = None
    level: str = "youth"
    lang: str = "de"
    ui_mode: str = ""
    seed: int | None = None
    loras: tuple[LoraSpec, ...] = ()
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass
class RunServices:
    """Everything a run needs; one set per app (or per headless ``run``)."""

    backends: RunBackends
    content: ContentLibrary
    settings: Callable[[], Settings]
    store: RunStore
    providers: ProviderRegistry
    gate: SafetyGate
    seeds: SeedPolicy
    workflows_dir: Path
    arbiter: VramArbiter | None = None
    #: Why the GPU is taken now (a training runs), or None; generation refuses then.
    gpu_busy: Callable[[], str | None] | None = None
    store_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: The outputs' model files as last checked (Create greys outputs from it).
    models: ModelStatusBoard | None = None
    #: The output folder of a ComfyUI on this computer (None: remote or unknown); the
    #: run removes ComfyUI's copies there once it saved its own (comfy_cleanup).
    comfy_output: Callable[[], Path | None] | None = None
    #: Stage 6 (the vision model looks at images); None: no media check can run.
    media: MediaGate | None = None
    #: The teacher's review log (every block); None: blocks are only in the run record.
    review_log: ReviewLog | None = None


class RunSession:
    """One run: its request, its record and how far it got.

    Raises from the constructor:
        ConfigError: unknown output or config, or an output that cannot run (planned).
    """

    def __init__(self, services: RunServices, request: RunRequest) -> None:
        self.services = services
        self.request = request
        self.output = _output(services.content, request.output_id)
        if self.output.route is OutputRoute.cloud_image:
            generation.check_cloud_allowed(self.output, services.settings().safety.local_only)
        self.config = _config(services.content, request.config_id)
        self.rules = (
            request.rules
            if request.rules is not None
            else (self.config.rules.get(request.lang) if self.config else "")
        )
        self.record: RunRecord | None = None
        self._texts: dict[Stage, str] = {}
        self._next = 0
        self._generations = 0
        self._edited_since_generation = False
        self._saving: asyncio.Future[Any] | None = None
        self._unsaved = False  # the record changed since the last save of this session
        #: The student's texts in the boxes, not used yet (see :meth:`draft`).
        self._drafts: dict[Stage, str] = {}
        #: Stages a follow-up run takes over from the run before (see :meth:`continue_with`).
        self._carried: dict[Stage, StageRecord] = {}
        self._unchecked_edit: Stage | None = None  # a student edit not yet safety-checked

    @classmethod
    def resume(cls, services: RunServices, record: RunRecord) -> RunSession:
        """A session that continues a saved run (reopened from the history).

        Its texts and fixed seed are the recorded ones (the user's edits where there are
        any); the next :meth:`advance` starts after the last text stage that ran, so the
        final prompt is checked again before anything is generated. A finished run continues after
        :meth:`edit` or :meth:`rewind`; new media land in the same run folder.

        Raises:
            ConfigError: the run's output or config no longer exists.
        """
        inputs = record.inputs
        request = RunRequest(
            idea=inputs.idea,
            output_id=inputs.output_id,
            config_id=inputs.config_id,
            rules=inputs.rules,
            level=inputs.level or "youth",
            lang=inputs.language or "de",
            ui_mode=inputs.ui_mode,
            seed=inputs.seed,
        )
        session = cls(services, request)
        session.record = record
        done = {s.stage: s for s in record.stages}
        for stage in EDITABLE:
            if stage in done:
                session._texts[stage] = done[stage].final_text
        ran = [STAGES.index(stage) for stage in done]
        if Stage.generation in done:
            session._next = len(STAGES)
            session._generations = 1
        elif ran:
            session._next = max(ran) + 1
        record.owner = owner_id()
        return session

    @classmethod
    def replay(
        cls, services: RunServices, record: RunRecord
    ) -> tuple[RunSession | None, list[RunEvent]]:
        """A saved run shown again: the events that show it as it ended, and its session.

        The events start with ``StageStarted(input_safety)`` (a page forgets the run it
        showed) and end with the run's end: its result, block, failure, cancel, or
        ``RunStopped`` for a run that paused or was left after a stage. The session (None
        when the run has no transformed text, or its output or config no longer exists)
        continues the run: same folder, same seed, the final text checked again.
        """
        session: RunSession | None = None
        if any(s.stage is Stage.interception for s in record.stages):
            try:
                session = cls.resume(services, record)
            except AppError as exc:
                log.info("Run %s reopened read-only: %s", record.id, exc.user_message)
        return session, replay_events(record, services.store.folder(record.id))

    # ------------------------------------------------------------------ public API

    @property
    def run_id(self) -> str:
        """The run's id ("" before the first :meth:`advance`)."""
        return self.record.id if self.record else ""

    @property
    def next_stage(self) -> Stage | None:
        """The stage the next :meth:`advance` starts with (None when everything ran)."""
        return STAGES[self._next] if self._next < len(STAGES) else None

    def text(self, stage: Stage) -> str:
        """The text a finished stage handed on (the user's edit if there is one)."""
        return self._texts.get(stage, "")

    @property
    def final_prompt(self) -> str:
        """The text the generation uses: the last text stage that ran."""
        for stage in (Stage.translation, Stage.adaptation, Stage.interception):
            if stage in self._texts:
                return self._texts[stage]
        return self.request.idea

    def edit(self, stage: Stage, text: str) -> None:
        """Replace a finished stage's text; the stages after it will run again.

        Raises:
            ValueError: the stage has no editable text or has not run yet.
        """
        if stage not in EDITABLE or stage not in self._texts or self.record is None:
            raise ValueError(f"stage {stage.value} has no text to edit yet")
        self._texts[stage] = text
        for later in STAGES[STAGES.index(stage) + 1 :]:
            self._texts.pop(later, None)
        self.record.stages = [
            replace(s, edited_text=text) if s.stage is stage else s for s in self.record.stages
        ]
        self._next = STAGES.index(stage) + 1
        self._edited_since_generation = True
        self._unchecked_edit = stage
        self.services.store.save(self.record)

    def draft(self, stage: Stage, text: str) -> None:
        """The student's text in a stage's box; nothing runs and nothing is lost.

        The next :meth:`continue_with` uses it (the stages after it run again); a session
        that is left (:meth:`stop`, or a follow-up run) saves it as the stage's
        ``edited_text``. The stage's own text again removes the draft.

        Raises:
            ValueError: the stage has no editable text or has not run yet.
        """
        if stage not in EDITABLE or stage not in self._texts:
            raise ValueError(f"stage {stage.value} has no text to edit yet")
        if text == self._texts[stage]:
            self._drafts.pop(stage, None)
        else:
            self._drafts[stage] = text

    def drafted(self, stage: Stage) -> bool:
        """True while the student's text of ``stage`` differs from the text it ran with."""
        return stage in self._drafts

    def edited(self, stage: Stage) -> bool:
        """True when the student changed the text of ``stage`` (a draft or a used edit)."""
        if stage in self._drafts:
            return True
        done = self._stage_record(stage)
        return done is not None and done.edited_text is not None

    def keeps_interception(self, request: RunRequest) -> bool:
        """True when "Generate" for ``request`` goes on from this session's transformed text.

        It does when the text is there and either the student changed it (their text is
        never replaced without them pressing Transform) or the idea, rules and rule config
        are the same. A new output, level, language or parameter keeps it.
        """
        if not self._texts.get(Stage.interception):
            return False
        if self.edited(Stage.interception):
            return True
        return _text_inputs(self.services.content, self.request) == _text_inputs(
            self.services.content, request
        )

    async def continue_with(self, request: RunRequest) -> RunSession:
        """The session that "Generate" runs now for ``request`` (then call :meth:`advance`).

        * Same idea, rules, config, output, level and language: this session. The earliest
          draft becomes an edit (the stages after it run again), the output parameters,
          seed and LoRAs of ``request`` apply, and a finished run generates again.
        * Anything else: a new run for ``request``. It takes over this run's transformed
          text when :meth:`keeps_interception` says so, and the student's prompt too when
          the new output has the same kind of prompt; otherwise those stages run again.
          This session is left (:meth:`stop`): its drafts are saved in its record.

        Raises:
            ConfigError: the output or config of ``request`` does not exist or cannot run.
        """
        if self.record is not None and _run_inputs(self.request) == _run_inputs(request):
            self._apply_drafts()
            self.request = replace(
                self.request, values=request.values, seed=request.seed, loras=request.loras
            )
            if self.next_stage is None:
                self.rewind(Stage.generation)
            return self
        follow = RunSession(self.services, request)
        if self.keeps_interception(request):
            follow._carry(self._kept(Stage.interception))
            same_prompt = (
                follow.output.media is self.output.media
                and follow.output.adaptation == self.output.adaptation
            )
            if same_prompt and self.edited(Stage.adaptation) and Stage.adaptation in self._texts:
                follow._carry(self._kept(Stage.adaptation))
        await self.stop()
        return follow

    def dropped_on(self, follow: RunSession) -> tuple[Stage, ...]:
        """The student's texts of this session that ``follow`` cannot use (saved here)."""
        if follow is self:
            return ()
        return tuple(s for s in EDITABLE if self.edited(s) and s not in follow._carried)

    async def stop(self) -> None:
        """Leave this run: drafts saved as edits, an unfinished run says "stopped".

        Call it when nothing is advancing (cancel that first); it never raises.
        """
        if self.record is None:
            return
        changed = self._save_drafts()
        if self.record.status == "running":
            self.record.status = "stopped"
            changed = True
        if changed:
            try:
                await self._store(self.services.store.save, self.record)
            except AppError as exc:
                log.error("Could not save run %s: %s (%s)", self.run_id, exc, exc.detail)

    def rewind(self, stage: Stage) -> None:
        """Let the next :meth:`advance` start again at ``stage`` (e.g. "generate again")."""
        index = STAGES.index(stage)
        if index > self._next:
            raise ValueError(f"stage {stage.value} has not been reached yet")
        self._next = index

    async def advance(self, until: Stage | None = None) -> AsyncGenerator[RunEvent, None]:
        """Run the next stages up to and including ``until`` (all when None)."""
        stage = self.next_stage or Stage.generation
        try:
            if self.record is None:
                self.record = await self._store(self.services.store.new_run, self._inputs())
            while self._next < len(STAGES):
                stage = STAGES[self._next]
                record = self._rec()
                record.status, record.error = "running", None
                self._unsaved = True
                blocked: list[RunEvent] = []
                async for event in self._run_stage(stage, blocked):
                    yield event
                if blocked:  # the record says "blocked" already; the run ends here
                    yield blocked[0]
                    return
                await self._stage_done()
                if stage is until and self._next < len(STAGES):
                    await self._end("stopped")  # nothing runs until the student goes on
                    yield RunStopped(self.run_id, stage)
                    return
        except asyncio.CancelledError:
            await self._finish_saving()
            await self._end("cancelled")
            if self.record is not None:
                yield RunCancelled(self.run_id, stage)
            raise
        except UserCancelled:  # the server reported an interrupt nobody here asked for
            await self._finish_saving()
            await self._end("cancelled")
            yield RunCancelled(self.run_id, stage)
        except AppError as exc:
            await self._finish_saving()
            yield await self._fail(
                stage, exc.user_message, exc.detail, exc.key, tuple(exc.params.items())
            )
        except Exception as exc:
            log.exception("Run %s failed in %s", self.run_id, stage.value)
            await self._finish_saving()
            yield await self._fail(
                stage,
                "Something went wrong inside the app. The run was saved; please tell your "
                "teacher and try again.",
                f"{type(exc).__name__}: {exc}",
                "error.internal",
            )

    def graph_for(self, prompt: str) -> tuple[Graph, int]:
        """The exact ComfyUI graph a generation of ``prompt`` would submit, and its seed.

        Used by ``run --dry-run``; mapping, LoRA injection and seed are the same as in a
        real run. ComfyUI is not asked, so the graph has the output's own template and model
        file names; a real run uses the layout and the names the server lists.

        Raises:
            ConfigError: the output does not use a ComfyUI workflow.
            LoraError: a LoRA cannot be applied.
        """
        if self.output.route is not OutputRoute.comfyui:
            raise ConfigError(
                f"“{self.output.name.en}” does not use a ComfyUI workflow, so there is no "
                f"graph to show.",
                key="error.no_workflow",
                params={
                    "output_en": self.output.name.get("en") or self.output.id,
                    "output_de": self.output.name.get("de") or self.output.id,
                },
            )
        job = self._job(prompt)
        graph, _, _ = generation.prepare_graph(job, self.services.workflows_dir)
        return graph, job.seed

    # ------------------------------------------------------------------ stages

    async def _run_stage(
        self, stage: Stage, blocked: list[RunEvent]
    ) -> AsyncGenerator[RunEvent, None]:
        req = self.request
        if self._unchecked_edit is not None:  # a student's edit is checked before it is used
            async with aclosing(self._check_edit(blocked)) as checks:
                async for event in checks:
                    yield event
            if blocked:
                return
        if stage in self._carried:
            events = self._carried_stage(stage)
        elif stage in (Stage.input_safety, Stage.output_safety):
            events = self._safety_stage(stage, blocked)
        elif stage is Stage.interception:
            messages = build_interception(req.idea, self.rules, lang=req.lang)
            params = self.config.llm if self.config else LlmParams()
            events = self._llm_stage(stage, "interception", messages, params, blocked=blocked)
        elif stage is Stage.adaptation:
            events = self._adaptation(blocked)
        elif stage is Stage.translation:
            events = self._translation(blocked)
        else:
            events = self._generate(blocked)
        async with aclosing(events):
            async for event in events:
                yield event

    async def _safety_stage(
        self, stage: Stage, blocked: list[RunEvent]
    ) -> AsyncGenerator[RunEvent, None]:
        req, gate, lang = self.request, self.services.gate, self.request.lang
        yield StageStarted(self.run_id, stage)
        if stage is Stage.input_safety:
            check = gate.check_input(req.idea, self.rules, level=req.level, lang=lang)
        elif generation.is_code(self.output):
            check = gate.check_code(
                self.final_prompt, self.output.framework, level=req.level, lang=lang
            )
        else:
            check = gate.check_prompt(self.final_prompt, level=req.level, lang=lang)
        outcome = await self._guarded(check)
        record = self._rec()
        record.safety.extend(outcome.decisions)
        if not outcome.allowed:
            judged = (
                f"idea: {req.idea}\nrules: {self.rules}"
                if stage is Stage.input_safety
                else self.final_prompt
            )
            await self._block(Block(stage, judged, outcome.reason, outcome.cause,
                                    outcome.decisions), blocked)  # fmt: skip
            return
        await self._save()
        yield StageCompleted(self.run_id, stage, badge=_safety_badge(outcome))

    async def _carried_stage(self, stage: Stage) -> AsyncGenerator[RunEvent, None]:
        """A text taken over from the run before (the student's, or still valid)."""
        kept = self._carried.pop(stage)
        self._texts[stage] = kept.final_text
        record = self._rec()
        record.stages = [s for s in record.stages if s.stage is not stage]
        record.stages.append(kept)
        if kept.model:
            record.models[stage.value] = kept.model
        await self._save()
        yield StageCompleted(self.run_id, stage, kept.final_text, badge="kept")
        self._unchecked_edit = stage  # checked again before use: the level may be stricter now

    async def _check_edit(self, blocked: list[RunEvent]) -> AsyncGenerator[RunEvent, None]:
        """A text the student changed is checked like their own input before anything uses it."""
        stage, req = self._unchecked_edit, self.request
        assert stage is not None
        text = self._texts.get(stage, "")
        yield StageChecking(self.run_id, stage)
        outcome = await self._guarded(
            self.services.gate.check_edit(stage, text, level=req.level, lang=req.lang)
        )
        self._rec().safety.extend(outcome.decisions)
        if not outcome.allowed:
            await self._block(Block(stage, text, outcome.reason, outcome.cause,
                                    outcome.decisions), blocked)  # fmt: skip
            return
        self._unchecked_edit = None
        # The stage said "checking": it is done again (else it shows "checking" for good).
        yield StageCompleted(self.run_id, stage, text, badge=_safety_badge(outcome))

    async def _block(self, block: Block, blocked: list[RunEvent]) -> None:
        """End the run as blocked: record, review log, and the event the caller yields."""
        record = self._rec()
        record.status = "blocked"
        record.error = {"message": block.reason, "detail": block.detail}
        blocked.append(RunBlocked(self.run_id, block.stage, block.reason))
        await self._save()
        log_path = self.services.review_log
        if log_path is not None:
            settings = self.services.settings()
            entry = block.entry(self.request.level, settings.lesson.profile_name, self.run_id)
            await log_block(log_path, entry)

    def _translation(self, blocked: list[RunEvent]) -> AsyncGenerator[RunEvent, None]:
        text = self._texts[Stage.adaptation]
        if not needs_translation(self.request.level, self.output, text):
            return _nothing()
        return self._llm_stage(
            Stage.translation,
            "translation",
            build_translation(text),
            TRANSLATION_PARAMS,
            badge="translated",
            blocked=blocked,
        )

    async def _guarded(self, check: Awaitable[SafetyOutcome]) -> SafetyOutcome:
        """Await a gate call; an unconfirmed research level becomes a block."""
        try:
            return await check
        except SafetyError as exc:
            return SafetyOutcome(False, [], exc.user_message)

    async def _adaptation(self, blocked: list[RunEvent]) -> AsyncGenerator[RunEvent, None]:
        text = self._texts[Stage.interception]
        output, lang = self.output, self.request.lang
        if output.adaptation is None:  # the output takes the text as it is
            self._texts[Stage.adaptation] = text
            return
        messages = build_adaptation(text, output.adaptation.get(lang), lang=lang)
        params = ADAPTATION_PARAMS.get(output.media, DEFAULT_ADAPTATION)
        async for event in self._llm_stage(
            Stage.adaptation, output.adaptation_role, messages, params, blocked=blocked
        ):
            yield event

    async def _llm_stage(
        self,
        stage: Stage,
        role: str,
        messages: list[Message],
        params: LlmParams,
        *,
        badge: str = "",
        blocked: list[RunEvent] | None = None,
    ) -> AsyncGenerator[RunEvent, None]:
        services = self.services
        checks = policy_for(self.request.level).stage_texts
        hidden = checks is TextCheck.before_shown  # kids: nothing is shown before the check
        route = resolve(role, services.settings(), services.content)
        provider = services.providers.get(route.provider)
        options = llm_options(params, seed=self._llm_seed(stage))
        started, t0 = utc_now(), time.perf_counter()
        yield StageStarted(self.run_id, stage, model=route.label)
        kind = _stage_kind(stage, self.output)
        checked: Checked | None = None
        source = self._texts.get(Stage.adaptation, "") if stage is Stage.translation else ""
        asked = ask_checked(
            provider, route.model, messages, options, run_id=self.run_id, stage=stage,
            label=route.label, kind=kind, clean=lambda a: self._post_process(stage, a),
            source=source, framework=self.output.framework,
        )  # fmt: skip
        async with aclosing(asked) as events:
            async for event in events:
                if isinstance(event, Checked):
                    checked = event
                elif not (hidden and isinstance(event, StageText)):  # kids: held back
                    yield event
        assert checked is not None, "ask_checked ends with its outcome"
        text = checked.text
        badge = _checked_badge(checked, badge)
        if not text.strip():
            raise AppError(
                "The language model gave an empty answer. Try again, or change the idea or "
                "the rules a little.",
                detail=f"{route.label} answered nothing for {stage.value}",
                key="error.llm_empty",
            )
        refuse_unusable(checked, route.label, self.output)
        duration = (time.perf_counter() - t0) * 1000
        if checks is not TextCheck.never:
            yield StageChecking(self.run_id, stage)
            outcome = await self._check_text(stage, text)
            if not outcome.allowed:  # the text is not kept where a student could see it
                assert blocked is not None, "every LLM stage can block"
                await self._block(Block(stage, text, outcome.reason, outcome.cause,
                                        outcome.decisions), blocked)  # fmt: skip
                return
            badge = badge or "safety passed"
        self._texts[stage] = text
        record = self._rec()
        record.stages = [s for s in record.stages if s.stage is not stage]
        used = {**checked.options, "checks": checked.record()}
        record.stages.append(
            StageRecord(stage, started, utc_now(), route.label, text, None, used, duration)
        )
        record.models[stage.value] = route.label
        record.timings[stage.value] = round(duration, 1)
        await self._save()
        yield StageCompleted(self.run_id, stage, text, badge=badge)

    def _llm_seed(self, stage: Stage) -> int:
        """The same inputs give the same seed, so an unchanged run repeats its texts."""
        req = self.request
        return llm_seed(stage.value, req.seed, req.idea, self.rules, req.config_id,
                        req.output_id, req.lang, req.level)  # fmt: skip

    async def _check_text(self, stage: Stage, text: str) -> SafetyOutcome:
        """The safety check of an LLM stage's text (kids: before it is shown)."""
        req = self.request
        code = stage is Stage.adaptation and generation.is_code(self.output)
        outcome = await self._guarded(
            self.services.gate.check_stage_text(
                stage, text, level=req.level, lang=req.lang, code=code
            )
        )
        self._rec().safety.extend(outcome.decisions)
        return outcome

    def _post_process(self, stage: Stage, answer: str) -> str:
        if stage is Stage.adaptation and generation.is_code(self.output):
            return extract_code(strip_echoes(answer))
        return clean_text(strip_echoes(answer))

    async def _generate(self, blocked: list[RunEvent]) -> AsyncGenerator[RunEvent, None]:
        services, output = self.services, self.output
        record = self._rec()
        prompt = self.final_prompt
        started, t0 = utc_now(), time.perf_counter()
        yield StageStarted(self.run_id, Stage.generation, model=output.id)
        busy = services.gpu_busy() if services.gpu_busy else None
        if busy and output.route in (OutputRoute.comfyui, OutputRoute.swarmui_t2i):
            raise AppError(busy, key="error.gpu_busy")
        media = self._media_gate() if output.media in VISUAL_MEDIA else None
        if media is not None and not await self._media_ready(media, prompt, blocked):
            return  # kids without a vision model: nothing is generated
        job = self._job(prompt)
        record.seed = job.seed if output.route is not OutputRoute.code else None
        record.parameters = generation.used_parameters(job, services.workflows_dir)
        record.negative_prompt = job.negative
        outcome = generation.GenerationOutcome()
        async for step in self._route(job, outcome):
            if step.preview:
                if media is None:  # a checked image is not shown before its check
                    yield RunPreview(self.run_id, step.preview, step.preview_mime)
            else:
                yield RunProgress(self.run_id, step.step, step.total)
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # a backend client absorbed the cancel
            raise asyncio.CancelledError
        if media is not None:
            async with aclosing(self._media_checked(media, outcome, prompt, blocked)) as checks:
                async for event in checks:
                    yield event
            if blocked:
                return
        record.prompt = outcome.prompt or prompt
        record.code = prompt if generation.is_code(output) else ""
        record.loras_applied = [_applied(a, job.loras) for a in outcome.applied]
        record.models[Stage.generation.value] = output.id
        saved = []
        for produced in outcome.files:
            item = await self._store(
                services.store.add_media,
                record,
                produced.data,
                filename=produced.filename,
                mime=produced.mime,
                kind=_media_kind(produced.kind),
            )
            saved.append(SavedFile(services.store.media_path(record, item), item.mime))
        await self._discard_server_copies(outcome)
        duration = (time.perf_counter() - t0) * 1000
        record.stages = [s for s in record.stages if s.stage is not Stage.generation]
        record.stages.append(
            StageRecord(Stage.generation, started, utc_now(), output.id, record.prompt, None,
                        dict(record.parameters), duration)
        )  # fmt: skip
        record.timings[Stage.generation.value] = round(duration, 1)
        self._generations += 1
        self._edited_since_generation = False
        badge = "LoRA applied" if outcome.applied else ""
        yield StageCompleted(self.run_id, Stage.generation, record.prompt, badge=badge)
        folder = services.store.folder(record.id)
        yield RunResult(self.run_id, folder, tuple(saved), record.code)

    async def _discard_server_copies(self, outcome: generation.GenerationOutcome) -> None:
        """ComfyUI's copies go once the run folder holds the files (see comfy_cleanup)."""
        where = self.services.comfy_output
        server_files = [f.server_file for f in outcome.files if f.server_file is not None]
        if where is None or not server_files:
            return
        await asyncio.to_thread(discard_server_copies, server_files, where(), self.run_id)

    async def _media_ready(self, media: MediaGate, prompt: str, blocked: list[RunEvent]) -> bool:
        """Before generating: can the picture be checked at all (kids need a vision model)?"""
        req = self.request
        ready = await self._media_guarded(media.precheck(req.level, req.lang))
        if ready.allowed:
            return True
        self._rec().safety.extend(ready.decisions)
        block = Block(Stage.media_check, prompt, ready.reason, ready.cause, ready.decisions)
        await self._block(block, blocked)
        return False

    async def _media_checked(
        self,
        media: MediaGate,
        outcome: generation.GenerationOutcome,
        prompt: str,
        blocked: list[RunEvent],
    ) -> AsyncGenerator[RunEvent, None]:
        """Stage 6: the vision model looks at the pictures; a blocked one is never saved."""
        req = self.request
        images = [(f.data, f.mime) for f in outcome.files if f.kind == "image"]
        for film in (f for f in outcome.files if f.kind == "video"):
            frames = await asyncio.to_thread(frames_to_check, film.data)
            images.extend((frame, "image/jpeg") for frame in frames)
            if not frames:
                images.append((film.data, film.mime))  # judged as unreadable: fail closed
        if images:
            yield StageChecking(self.run_id, Stage.media_check)
        checked = await self._media_guarded(
            media.check_images(images, level=req.level, lang=req.lang)
        )
        self._rec().safety.extend(checked.decisions)
        if not checked.allowed:
            block = Block(Stage.media_check, outcome.prompt or prompt, checked.reason,
                          checked.cause, checked.decisions)  # fmt: skip
            await self._discard_server_copies(outcome)  # not even the server keeps it
            await self._block(block, blocked)
            return
        if checked.decisions:
            badge = "not checked" if checked.note else "safety passed"
            yield StageCompleted(self.run_id, Stage.media_check, checked.note, badge=badge)

    def _media_gate(self) -> MediaGate | None:
        """The media check when this run's level has one (else None: previews are shown)."""
        media = self.services.media
        if media is None:
            media = MediaGate(
                None, research_confirmed=lambda: self.services.gate.research_confirmed
            )
        return media if media.applies(self.request.level, self.request.lang) else None

    async def _media_guarded(self, check: Awaitable[MediaOutcome]) -> MediaOutcome:
        try:
            return await check
        except SafetyError as exc:
            return MediaOutcome(False, [], exc.user_message)

    def _route(
        self, job: generation.GenerationJob, outcome: generation.GenerationOutcome
    ) -> AsyncIterator[generation.Step]:
        services, output = self.services, self.output
        if output.route is OutputRoute.comfyui:
            return generation.run_comfy(
                job,
                services.backends,
                services.workflows_dir,
                outcome,
                arbiter=services.arbiter,
                models=services.models,
            )
        if output.route is OutputRoute.swarmui_t2i:
            return generation.run_swarm(job, services.backends, outcome)
        return self._single(job, outcome)

    async def _single(
        self, job: generation.GenerationJob, outcome: generation.GenerationOutcome
    ) -> AsyncIterator[generation.Step]:
        """Routes without progress steps (code passthrough, cloud image): nothing to report."""
        if self.output.route is OutputRoute.code:
            generation.code_file(job, job.prompt, outcome)
        elif self.output.route is OutputRoute.cloud_image:
            local_only = self.services.settings().safety.local_only
            await generation.run_cloud_image(job, outcome, local_only=local_only)
        else:
            raise generation.planned(self.output)
        no_steps: tuple[generation.Step, ...] = ()
        for step in no_steps:  # an async generator that yields nothing
            yield step

    def _job(self, prompt: str) -> generation.GenerationJob:
        req, output = self.request, self.output
        values: dict[str, object] = dict(req.values)
        negative = str(values.pop("negative", output.defaults.get("negative", "")))
        if output.media is MediaType.music and "tags" in output.mapping:
            values["tags"], values["lyrics"] = split_music(prompt)
        edited = self._generations > 0 and self._edited_since_generation
        previous = self.record.seed if self.record is not None else None
        if req.seed is not None:
            seed = req.seed
        elif edited and previous is not None:
            seed = previous  # an edited prompt keeps this run's seed
        else:
            seed = self.services.seeds.next_seed(prompt, edited=edited)
        refs = self.config.loras if self.config else ()
        # A rule's LoRA trained for another base model (a FLUX.1 LoRA, an SD 1.5 output) does
        # nothing there but fail or spill keys: it goes only into outputs of its family.
        loras = tuple(
            LoraSpec.from_ref(ref) for ref in refs if lora_fits(ref.family, output.lora_family)
        )
        return generation.GenerationJob(
            run_id=self.run_id or "preview",
            output=output,
            prompt=prompt,
            negative=negative,
            seed=seed,
            values=values,
            loras=loras + req.loras,
        )

    # ------------------------------------------------------------------ record

    def _inputs(self) -> RunInputs:
        req = self.request
        return RunInputs(
            idea=req.idea,
            rules=self.rules,
            config_id=req.config_id,
            output_id=req.output_id,
            level=req.level,
            language=req.lang,
            ui_mode=req.ui_mode,
            seed=req.seed,
        )

    def _stage_record(self, stage: Stage) -> StageRecord | None:
        if self.record is None:
            return None
        return next((s for s in self.record.stages if s.stage is stage), None)

    def _kept(self, stage: Stage) -> StageRecord:
        """The stage as a follow-up run takes it over: the draft as the edited text."""
        done = self._stage_record(stage)
        text = self._texts[stage]
        if done is None:  # a stage that took its text over unchanged (no own record)
            return StageRecord(stage, utc_now(), utc_now(), "", text, None)
        draft = self._drafts.get(stage)
        return replace(done, edited_text=draft) if draft is not None else done

    def _apply_drafts(self) -> None:
        """The earliest draft becomes an edit; later drafts are saved but run again."""
        self._save_drafts()
        first = next((s for s in STAGES if s in self._drafts), None)
        if first is not None:
            text = self._drafts[first]
            self._drafts.clear()
            self.edit(first, text)

    def _save_drafts(self) -> bool:
        """Write the drafts into the record as edited texts; True when it changed."""
        if self.record is None or not self._drafts:
            return False
        self.record.stages = [
            replace(s, edited_text=self._drafts[s.stage]) if s.stage in self._drafts else s
            for s in self.record.stages
        ]
        return True

    def _carry(self, kept: StageRecord) -> None:
        self._carried[kept.stage] = kept

    def _rec(self) -> RunRecord:
        assert self.record is not None, "advance() creates the record first"
        return self.record

    async def _stage_done(self) -> None:
        """Count a stage as run; save unless the stage saved its result already."""
        self._next += 1
        if self._next == len(STAGES):
            self._rec().status = "done"
            self._unsaved = True
        if self._unsaved:  # text and safety stages saved; generation and skipped ones not
            await self._save()

    async def _save(self) -> None:
        """Write ``run.json`` in a worker thread (a failure here is a failure of the run).

        The store flushes the file to the disk only for a final status; see
        :meth:`RunStore.save`.
        """
        if self.record is not None:
            await self._store(self.services.store.save, self.record)
            self._unsaved = False

    async def _end(self, status: RunStatus) -> None:
        """Save the final status without raising (the run already ends with an error)."""
        if self.record is None:
            return
        self.record.status = status
        try:
            await self._store(self.services.store.save, self.record)
        except AppError as exc:
            log.error("Could not save run %s: %s (%s)", self.run_id, exc, exc.detail)

    async def _fail(
        self,
        stage: Stage,
        message: str,
        detail: str,
        key: str = "",
        params: tuple[tuple[str, str], ...] = (),
    ) -> RunFailed:
        if self.record is not None:
            error: RunError = {"message": message, "detail": detail}
            if key:
                error["key"], error["params"] = key, dict(params)
            self.record.error = error
            await self._end("failed")
        return RunFailed(self.run_id, stage, message, detail, key, params)

    async def _store(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a store call in a worker thread, one at a time, never torn by a cancel."""
        async with self.services.store_lock:
            self._saving = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
            return await asyncio.shield(self._saving)

    async def _finish_saving(self) -> None:
        """Wait for a store call that a cancel interrupted (its thread cannot be stopped)."""
        pending, self._saving = self._saving, None
        if pending is not None and not pending.done():
            await asyncio.wait({pending})
        if pending is not None and pending.done() and not pending.cancelled():
            pending.exception()  # retrieved, so asyncio does not warn; the record tells


def _text_inputs(content: ContentLibrary, request: RunRequest) -> tuple[str, str, str]:
    """What the transformed text depends on: the idea, the rules and the rule config."""
    rules = request.rules
    if rules is None:
        config = content.interceptions.get(request.config_id)
        rules = config.rules.get(request.lang) if config else ""
    return request.idea, rules, request.config_id


def _run_inputs(request: RunRequest) -> tuple[str, ...]:
    """What one run record is about; a change makes a new run."""
    rules = "\0" if request.rules is None else request.rules
    return (
        request.idea,
        rules,
        request.config_id,
        request.output_id,
        request.level,
        request.lang,
    )


def replay_events(record: RunRecord, folder: Path) -> list[RunEvent]:
    """The events that show a saved run as it ended (see :meth:`RunSession.replay`)."""
    events: list[RunEvent] = [StageStarted(record.id, Stage.input_safety)]
    saved = {s.stage: s for s in record.stages}
    for stage in STAGES:
        decisions = [d for d in record.safety if d.stage is stage]
        unchecked = any(d.result == "unavailable" for d in decisions)
        badge = ""
        if decisions and all(d.result != "block" for d in decisions):
            badge = "not checked" if unchecked else "safety passed"
        text = saved[stage].final_text if stage in saved and stage is not Stage.generation else ""
        if badge or text:  # a text stage that was also judged keeps its text
            events.append(StageCompleted(record.id, stage, text, badge))
    error = record.error or {"message": "", "detail": ""}
    last = next((s for s in reversed(STAGES) if s in saved), Stage.input_safety)
    if record.status == "done":
        badge = "LoRA applied" if record.loras_applied else ""
        events.append(StageCompleted(record.id, Stage.generation, record.prompt, badge))
        media = tuple(SavedFile(folder / Path(m.path).name, m.mime) for m in record.media)
        events.append(RunResult(record.id, folder, media, record.code))
    elif record.status == "blocked":
        stage = next((d.stage for d in record.safety if d.result == "block"), last)
        events.append(RunBlocked(record.id, stage, error["message"]))
    elif record.status == "failed":
        key, params = error.get("key", ""), tuple(error.get("params", {}).items())
        events.append(RunFailed(record.id, last, error["message"], error["detail"], key, params))
    elif record.status == "cancelled":
        events.append(RunCancelled(record.id, last))
    else:  # stopped, or "running" in another window of this app
        events.append(RunStopped(record.id, last))
    return events


def _output(content: ContentLibrary, output_id: str) -> OutputConfig:
    output = content.outputs.get(output_id)
    if output is None:
        known = ", ".join(o.id for o in content.sorted_outputs())
        raise ConfigError(
            f"There is no output called “{output_id}”. Known outputs: {known}.",
            key="error.unknown_output",
            params={"output": output_id},
        )
    if output.route is OutputRoute.planned:
        raise generation.planned(output)
    return output


def _config(content: ContentLibrary, config_id: str) -> InterceptionConfig | None:
    if not config_id:
        return None
    config = content.interceptions.get(config_id)
    if config is None:
        raise ConfigError(
            f"There is no interception config called “{config_id}”. "
            f"See `ai4artsed-desktop configs` for the list.",
            key="error.unknown_config",
            params={"config": config_id},
        )
    return config


def _safety_badge(outcome: SafetyOutcome) -> str:
    return "safety passed" if outcome.decisions else "not checked"


_MEDIA_KINDS: dict[str, MediaKind] = {
    "image": "image",
    "audio": "audio",
    "music": "music",
    "video": "video",
}


def _media_kind(kind: str) -> MediaKind:
    return _MEDIA_KINDS.get(kind, "code")


def _applied(applied: AppliedLora, specs: Sequence[LoraSpec]) -> LoraApplied:
    trigger = next((s.trigger for s in specs if s.file == applied.file), "")
    return LoraApplied(
        file=applied.file,
        strength=applied.strength_model,
        trigger=trigger,
        node_id=applied.node_id,
    )


async def _nothing() -> AsyncGenerator[RunEvent, None]:
    """A stage that has nothing to do (translation of a text that needs none)."""
    none: tuple[RunEvent, ...] = ()
    for event in none:
        yield event
