"""jaxvae: autoencoders versus variational autoencoders on MNIST, as pure jitted JAX functions.

The public functions are ``jax.jit``-compiled and compose under a caller's ``jit``, ``vmap``,
``grad`` and ``scan``::

    import jax, jaxvae
    model = jaxvae.make_model("vae", key=jax.random.key(0))
    mean, logvar = jaxvae.encode(model, images)            # images: [B, 28, 28] uint8
    z = jaxvae.reparameterize(mean, logvar, key=jax.random.key(1))
    logits = jaxvae.decode(model, z)                        # [B, 28, 28]
"""

from jaxvae.data import Dataset
from jaxvae.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DataUnavailableError,
    FolderInUseError,
    JaxvaeError,
    TrainingError,
    WriteError,
)
from jaxvae.evaluation import evaluate
from jaxvae.idx import read_idx
from jaxvae.latent import decode_grid, grid_points, prior_quantile_grid
from jaxvae.losses import (
    LossTerms,
    ae_loss,
    bernoulli_nll,
    kl_standard_normal,
    loss_terms,
    negative_elbo,
    vae_loss,
)
from jaxvae.models import VAE, AutoEncoder, Posterior, decode, encode, make_model, reparameterize
from jaxvae.runs.checkpoint import restore_checkpoint, save_checkpoint
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.single import initial_state, load_model
from jaxvae.sources import load_bundled, load_dataset
from jaxvae.spec import ModelSpec
from jaxvae.study.generative import density_coverage, frechet_distance, knn_radii, precision_recall
from jaxvae.train import TrainState, create_train_state, train_epoch, train_step

__version__ = "0.1.0"

__all__ = [
    "VAE",
    "AutoEncoder",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DataUnavailableError",
    "Dataset",
    "FolderInUseError",
    "JaxvaeError",
    "LossTerms",
    "ModelSpec",
    "Posterior",
    "TrainConfig",
    "TrainState",
    "TrainingError",
    "WriteError",
    "ae_loss",
    "bernoulli_nll",
    "create_train_state",
    "decode",
    "decode_grid",
    "density_coverage",
    "encode",
    "evaluate",
    "frechet_distance",
    "grid_points",
    "initial_state",
    "kl_standard_normal",
    "knn_radii",
    "load_bundled",
    "load_dataset",
    "load_model",
    "loss_terms",
    "make_model",
    "negative_elbo",
    "precision_recall",
    "prior_quantile_grid",
    "read_idx",
    "reparameterize",
    "restore_checkpoint",
    "save_checkpoint",
    "train_epoch",
    "train_step",
    "vae_loss",
]
