"""One objective bound to an energy and its data: ``theta -> (loss, grad)``.

The estimators choose the objective by name (``objective=``); the classes
here draw what is random in it (noise, projection directions, negative
samples) and call the functions of :mod:`sksm.objectives`.  For a full-batch
solver (L-BFGS) the draws are made once, so the function it minimises is
deterministic; for minibatches (Adam, ``partial_fit``) they are made afresh
for every batch.
"""

import numpy as np

from ..sampling import TARGET_ACCEPT, run_mcmc
from .cd import contrastive_divergence
from .dsm import denoising_score_matching
from .rsm import full_regularized_score_matching, regularized_score_matching
from .ssm import sliced_score_matching

__all__ = ["OBJECTIVES", "make_training_loss"]


class _TrainingLoss:
    """``theta -> (loss, grad)`` of one objective on ``data``."""

    #: Whether the gradient is only a stochastic estimate (no line search).
    stochastic = False

    def __init__(self, energy, data, rng, n_threads, options):
        self.energy, self.data, self.rng = energy, data, rng
        self.n_threads = n_threads
        self.options = options
        self._fixed = None

    def draw(self, batch):
        """Random inputs of the objective for ``batch`` (None: none)."""

    def loss(self, network, batch, drawn):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, theta, rows=None):
        self.energy.set_params(theta)
        if rows is None:
            batch = self.data
            if self._fixed is None or self.stochastic:
                self._fixed = self.draw(batch)
            drawn = self._fixed
        else:
            batch = self.data[rows]
            drawn = self.draw(batch)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self.loss(self.energy.network, batch, drawn)
            return loss, self.energy.params_gradient(grads).astype(np.float64)


class _RSM(_TrainingLoss):
    def loss(self, network, batch, drawn):
        return regularized_score_matching(
            network, batch, self.options["reg_lambda"],
            n_threads=self.n_threads)


class _RSMFull(_TrainingLoss):
    def loss(self, network, batch, drawn):
        return full_regularized_score_matching(
            network, batch, self.options["reg_lambda"],
            n_threads=self.n_threads)


class _DSM(_TrainingLoss):
    def draw(self, batch):
        sigmas = self.options["noise_sigma"]
        clean = np.concatenate([batch] * len(sigmas))
        sigma = np.repeat(sigmas, len(batch))
        noise = self.rng.standard_normal(clean.shape).astype(batch.dtype)
        return clean, noise, sigma

    def loss(self, network, batch, drawn):
        clean, noise, sigma = drawn
        return denoising_score_matching(network, clean, noise, sigma,
                                        n_threads=self.n_threads)


class _SSM(_TrainingLoss):
    """Sliced score matching of the data, perturbed by Gaussian noise of
    standard deviation ``noise_sigma`` when it is positive (Song & Ermon's
    use of it: the energy then models the noise-smoothed density, which
    quantised pixels need, as denoising score matching does)."""

    def draw(self, batch):
        shape = (len(batch), self.options["n_projections"]) + batch.shape[1:]
        if self.options["projection"] == "gaussian":
            v = self.rng.standard_normal(shape)
        else:
            v = self.rng.choice(np.array([-1.0, 1.0]), size=shape)
        sigma = self.options.get("noise_sigma", 0.0)
        if sigma > 0:
            noise = self.rng.standard_normal(batch.shape)
            batch = batch + (sigma * noise).astype(batch.dtype)
        return batch, v.astype(batch.dtype)

    def loss(self, network, batch, drawn):
        perturbed, v = drawn
        return sliced_score_matching(network, perturbed, v,
                                     n_threads=self.n_threads)


class _CD(_TrainingLoss):
    """Negative samples by ``n_mcmc_steps`` MCMC transitions from the data
    (CD-k) or from persistent chains (PCD).  The step size starts where
    :func:`~sksm.sampling.run_mcmc` finds it and then follows the acceptance
    rate, update by update; it and the chains live in ``options["state"]``,
    so ``partial_fit`` continues them."""

    stochastic = True

    def draw(self, batch):
        state = self.options["state"]
        method = self.options["mcmc_method"]
        chains = state.get("chains")
        if not self.options["persistent"] or chains is None:
            chains = batch
        energy = self.energy
        result = run_mcmc(lambda x: energy.grad_energy(x.astype(batch.dtype)),
                          chains, method=method,
                          n_steps=self.options["n_mcmc_steps"], n_warmup=0,
                          step_size=state.get("step_size"), keep_samples=False,
                          random_state=self.rng)
        log_step = np.mean(np.log(result.step_size))
        log_step += result.acceptance_rate.mean() - TARGET_ACCEPT[method]
        state["step_size"] = float(np.exp(log_step))
        if self.options["persistent"]:
            state["chains"] = result.state
        return result.state.astype(batch.dtype)

    def loss(self, network, batch, drawn):
        return contrastive_divergence(network, batch, drawn,
                                      n_threads=self.n_threads)


#: The objectives by name.
OBJECTIVES = {"rsm": _RSM, "rsm_full": _RSMFull, "dsm": _DSM, "ssm": _SSM,
              "cd": _CD}


def make_training_loss(objective, energy, data, rng, n_threads, **options):
    """Return the ``theta -> (loss, grad)`` callable of ``objective``.

    It also takes ``rows`` (a minibatch) and has the attribute
    ``stochastic``.  ``options`` holds what the objective needs:
    ``reg_lambda`` (rsm, rsm_full), ``noise_sigma`` (a sequence of levels;
    dsm), ``n_projections``, ``projection`` and ``noise_sigma`` (one float,
    0 for none; ssm), ``n_mcmc_steps``,
    ``mcmc_method``, ``persistent`` and a ``state`` dict (cd).
    """
    return OBJECTIVES[objective](energy, data, rng, n_threads, options)
