"""The tuned layers of the default model: applied by name and shape, refused when they do not fit."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from qa.embed import (
    BASE_MODEL,
    DEFAULT_MODEL,
    TUNED_WEIGHTS,
    SentenceTransformerEmbedder,
    apply_tuned_layers,
    resolve_model_path,
    tuned_name,
)
from qa.errors import ModelUnavailable


class _Transformer:
    def __init__(self) -> None:
        self.auto_model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))


def _model() -> list[_Transformer]:
    # What apply_tuned_layers reads: model[0].auto_model, as in a sentence-transformers model.
    return [_Transformer()]


def test_tuned_tensors_replace_the_base_ones_and_the_rest_stay(tmp_path: Path) -> None:
    m = _model()
    untouched = m[0].auto_model[1].weight.detach().clone()
    f = tmp_path / "t.safetensors"
    save_file({"0.weight": torch.full((3, 4), 0.5, dtype=torch.float16)}, str(f))
    apply_tuned_layers(m, f)
    assert torch.equal(m[0].auto_model[0].weight, torch.full((3, 4), 0.5))
    assert m[0].auto_model[0].weight.dtype == torch.float32
    assert torch.equal(m[0].auto_model[1].weight, untouched)


@pytest.mark.parametrize("tensors", [{"0.weight": torch.zeros(4, 4)}, {"9.weight": torch.zeros(3, 4)}, {}])
def test_tuned_layers_that_do_not_fit_are_refused(tmp_path: Path, tensors: dict) -> None:
    m = _model()
    before = m[0].auto_model[0].weight.detach().clone()
    f = tmp_path / "t.safetensors"
    save_file(tensors, str(f))
    with pytest.raises(ModelUnavailable, match="do not fit"):
        apply_tuned_layers(m, f)
    assert torch.equal(m[0].auto_model[0].weight, before)  # nothing half-applied


def test_missing_tuned_layers_say_so(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="missing"):
        apply_tuned_layers(_model(), tmp_path / "absent.safetensors")


def test_shipped_names_resolve_to_the_package_weights() -> None:
    base_path, none = resolve_model_path(BASE_MODEL)
    tuned_path, tuned = resolve_model_path(DEFAULT_MODEL)
    assert none is None and tuned == TUNED_WEIGHTS and base_path == tuned_path
    assert TUNED_WEIGHTS.is_file()  # shipped in the repository, not downloaded
    assert resolve_model_path("/some/local/model") == ("/some/local/model", None)


def test_the_default_name_carries_the_fingerprint_of_its_layers(tmp_path: Path) -> None:
    """Retrained layers are another model: the index and the selector record the fingerprint."""
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_file({"0.weight": torch.zeros(3, 4)}, str(a))
    save_file({"0.weight": torch.ones(3, 4)}, str(b))
    assert tuned_name(a).startswith(DEFAULT_MODEL + "@") and tuned_name(a) != tuned_name(b)
    assert tuned_name(tmp_path / "absent.safetensors") == DEFAULT_MODEL
    assert SentenceTransformerEmbedder().name == tuned_name() != DEFAULT_MODEL


def test_a_stale_fingerprint_is_refused() -> None:
    assert resolve_model_path(tuned_name())[1] == TUNED_WEIGHTS
    with pytest.raises(ModelUnavailable, match="retrained"):
        resolve_model_path(f"{DEFAULT_MODEL}@000000000000")
