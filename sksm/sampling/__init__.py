r"""Markov chain Monte Carlo on energies, and annealed importance sampling.

Every function here is driven by an energy given as a callable
``energy_grad(x) -> (E, dE/dx)`` on a stack of chains ``x`` of shape
``(n_chains, *event_shape)``, with ``E`` of shape ``(n_chains,)``: the
unnormalised density is :math:`p(x) \propto \exp(-E(x))`.  The chains run side
by side, so one call of ``energy_grad`` moves all of them.

Samplers (:func:`run_mcmc`), with :math:`\epsilon` the step size and
:math:`\xi \sim N(0, I)`:

- ``'ula'``, unadjusted Langevin:
  :math:`x' = x - \tfrac{\epsilon^2}{2} \nabla E(x) + \epsilon \xi`, always
  accepted (biased by :math:`O(\epsilon^2)`);
- ``'mala'``, the same proposal with a Metropolis-Hastings correction
  (Roberts & Tweedie 1996), exact for any step;
- ``'hmc'``, Hamiltonian Monte Carlo: ``n_leapfrog`` leapfrog steps with a
  fresh Gaussian momentum, then Metropolis-Hastings on the total energy
  (Neal 2011).

During warm-up the step size is adapted toward a target acceptance rate
by a Robbins-Monro update of its logarithm on the acceptance rate averaged
over the chains: 0.574 for MALA (the optimum of Roberts & Rosenthal 1998),
0.65 for HMC, and for ULA 0.9 of the Metropolis-Hastings test it skips, a
step small enough to keep its bias small (on a 3-D Gaussian whose precision
has eigenvalues 1.3 to 13, measured covariance errors: 3.6 at a target of
0.574, 0.03 at 0.9).

:func:`annealed_importance_sampling` estimates :math:`\log Z` (Neal 2001) by
moving chains from a tractable base distribution through the geometric path
:math:`p_\beta \propto \exp(-(1 - \beta) E_0 - \beta E)`.
"""

from ._ais import (  # noqa: F401
    AUTO_TEMPERATURES,
    AUTO_TOLERANCE,
    AISResult,
    annealed_importance_sampling,
)
from ._bases import Gaussian, Mixture, StudentTProduct
from ._mcmc import METHODS, TARGET_ACCEPT, MCMCResult, run_mcmc  # noqa: F401

__all__ = ["AISResult", "Gaussian", "MCMCResult", "Mixture", "StudentTProduct",
           "annealed_importance_sampling", "run_mcmc"]
