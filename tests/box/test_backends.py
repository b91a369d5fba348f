"""The backend registries (edge.backends): every name builds, and the CLI and the config
offer exactly the registered names."""

from __future__ import annotations

import typing

import pytest

from edge.backends import PIN_BACKENDS, POSE_BACKENDS, resolve
from edge.cli import build_parser
from edge.config.schema import ModelConfig


@pytest.mark.parametrize("spec", [*POSE_BACKENDS.values(), *filter(None, PIN_BACKENDS.values())])
def test_every_entry_names_something_callable(spec):
    assert callable(resolve(spec))


def test_the_config_and_the_cli_offer_the_registered_names():
    assert typing.get_args(ModelConfig.model_fields["backend"].annotation) == tuple(POSE_BACKENDS)
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    feedback = next(a for a in run._actions if a.dest == "feedback")
    assert tuple(feedback.choices) == tuple(PIN_BACKENDS)
