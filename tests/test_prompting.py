"""The system prompt: built once per signature class, identical to a fresh build."""

from __future__ import annotations

import gc
import json
import weakref

from kaizen_core import InputField, OutputField, Signature
from kaizen_core.agents.prompting import _build_prompt, initial_messages, system_prompt


class Ask(Signature):
    """Answer the question."""

    question: str = InputField(desc="a question")
    answer: str = OutputField(desc="the answer")
    confidence: float = OutputField(desc="0..1")


def test_the_prompt_describes_the_signature() -> None:
    prompt = system_prompt(Ask())
    lines = prompt.split("\n")
    assert lines[0] == "Answer the question."
    assert "- question (str): a question" in lines and "- confidence (float): 0..1" in lines
    schema = json.loads(lines[-1])
    assert set(schema["properties"]) == {"answer", "confidence"}


def test_the_prompt_is_built_once_per_class() -> None:
    first, second = system_prompt(Ask()), system_prompt(Ask())
    assert first is second
    assert first == _build_prompt(Ask)
    assert system_prompt(Ask) is first  # the class itself works too


def test_extra_text_is_appended_per_call() -> None:
    base = system_prompt(Ask())
    assert system_prompt(Ask(), extra="Use the tools.") == base + "\nUse the tools."
    assert system_prompt(Ask(), extra="Other.") == base + "\nOther."
    assert system_prompt(Ask()) is base
    messages = initial_messages(Ask(), {"question": "q"}, extra_system="Use the tools.")
    assert messages[0].content == base + "\nUse the tools."


def test_derived_signatures_get_their_own_prompt() -> None:
    base = system_prompt(Ask())
    derived = Ask().with_instructions("Answer tersely.")
    prompt = system_prompt(derived)
    assert prompt.startswith("Answer tersely.\n") and prompt != base
    assert system_prompt(Ask()) is base
    guided = system_prompt(Ask().with_guidelines(["cite sources"]))
    assert "- cite sources" in guided and "- cite sources" not in base


def test_the_cache_does_not_keep_signatures_made_on_the_fly_alive() -> None:
    sig = Signature.parse("text: str -> summary: str", name="OnTheFly")
    assert "- summary (str)" in system_prompt(sig)
    ref = weakref.ref(type(sig))
    del sig
    gc.collect()
    assert ref() is None
