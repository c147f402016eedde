import jax
import pytest
from helpers import assert_trees_equal

import jaxvae
from jaxvae.runs.checkpoint import restore_checkpoint, save_checkpoint
from jaxvae.runs.single import initial_state


def test_roundtrip_is_exact(tmp_path, arch):
    config = jaxvae.TrainConfig(model=jaxvae.ModelSpec("ae", arch=arch), seed=3)
    state = initial_state(config)
    save_checkpoint(tmp_path, state, config)
    restored, saved_config = restore_checkpoint(
        tmp_path, initial_state(jaxvae.TrainConfig(model=jaxvae.ModelSpec("ae", arch=arch)))
    )
    assert saved_config["seed"] == 3
    assert jax.random.key_data(restored.key).tolist() == jax.random.key_data(state.key).tolist()
    assert_trees_equal(restored.model, state.model)


def test_other_architecture_is_a_clear_error(tmp_path):
    config = jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae"))
    save_checkpoint(tmp_path, initial_state(config), config)
    with pytest.raises(jaxvae.CheckpointError, match="different model"):
        restore_checkpoint(
            tmp_path, initial_state(jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae", latent_dim=3)))
        )
    with pytest.raises(jaxvae.CheckpointError, match="different model"):
        restore_checkpoint(tmp_path, initial_state(jaxvae.TrainConfig(model=jaxvae.ModelSpec("ae"))))
    with pytest.raises(jaxvae.CheckpointError, match="different model.*arch"):
        restore_checkpoint(
            tmp_path, initial_state(jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae", arch="conv")))
        )


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, arch):
    config = jaxvae.TrainConfig(model=jaxvae.ModelSpec("ae", arch=arch))
    save_checkpoint(tmp_path, initial_state(config), config)
    for path in (tmp_path / "checkpoints" / "0" / "arrays").rglob("*"):
        if path.is_file() and path.stat().st_size > 1000:
            path.write_bytes(b"\0" * 10)
    with pytest.raises(jaxvae.CheckpointError, match="cannot read checkpoint"):
        restore_checkpoint(tmp_path, initial_state(config), epoch=0)
    with pytest.raises(jaxvae.CheckpointError, match="none of its checkpoints is intact"):
        restore_checkpoint(tmp_path, initial_state(config))  # the newest: set aside, then none is left


def test_missing_checkpoint(tmp_path):
    with pytest.raises(jaxvae.CheckpointError, match="no complete checkpoint"):
        restore_checkpoint(tmp_path, initial_state(jaxvae.TrainConfig()))
    with pytest.raises(jaxvae.CheckpointError, match="config.json: not found"):
        jaxvae.load_model(tmp_path)
