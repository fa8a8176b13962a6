"""The contract every energy keeps with the objectives, optimisers, samplers
and estimators."""

__all__ = ["Energy"]


class Energy:
    r"""An energy :math:`E_\theta(x)` computed by a network of layers, with
    its parameters :math:`\theta` as one flat vector.

    A subclass builds ``network`` (an
    :class:`~sksm.energies.layers.EnergyNetwork`: input derivatives, Hessian
    diagonal and the gradients the objectives accumulate in its layers) and
    sets ``dtype``; it maps the flat vector to the layers' parameters and
    back (:attr:`n_params`, :meth:`get_params`, :meth:`set_params`,
    :meth:`params_gradient`).  The objectives of :mod:`sksm.objectives`
    work on ``network`` and :meth:`params_gradient`, the optimisers of
    :mod:`sksm.optim` on the flat vector, the samplers on
    :meth:`grad_energy`.

    Attributes
    ----------
    network : EnergyNetwork
    dtype : numpy dtype
        The dtype the network computes in.
    """

    network = None
    dtype = None

    @property
    def n_params(self):  # pragma: no cover - abstract
        """Length of the flat parameter vector."""
        raise NotImplementedError

    def get_params(self):  # pragma: no cover - abstract
        """Return the flat parameter vector, shape (n_params,)."""
        raise NotImplementedError

    def set_params(self, theta):  # pragma: no cover - abstract
        """Set the layers' parameters from the flat vector ``theta``."""
        raise NotImplementedError

    def params_gradient(self, grads):  # pragma: no cover - abstract
        """The layer gradients ``grads`` (``network.grads``: a dict per
        layer) as the gradient with respect to the flat vector."""
        raise NotImplementedError

    def energy(self, X, exponent=None):
        """Energy of every sample of ``X``, shape (n_samples,).

        ``exponent``: the samples are ``X * 2**exponent`` (see
        :func:`~sksm.energies.layers.split_exponent`).
        """
        return self.network.forward(X, energy=True, exponent=exponent)

    def grad_energy(self, X, exponent=None):
        """``(E, dE/dx)`` for every sample of ``X`` (of ``X *
        2**exponent``)."""
        E, d, _ = self.network.input_derivatives(X, energy=True, second=False,
                                                 exponent=exponent)
        return E, d

    def input_derivatives(self, X):
        """``(E, dE/dx, diag d2E/dx2)`` for every sample of ``X``."""
        return self.network.input_derivatives(X, energy=True)
