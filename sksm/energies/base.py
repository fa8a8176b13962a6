"""The contract every energy keeps with the objectives, optimisers, samplers
and estimators."""

__all__ = ["Energy"]


class Energy:
    r"""An energy computed by a network of layers, parameters as one vector.

    :math:`E_\theta(x)`, with its parameters :math:`\theta` as one flat
    vector.

    A subclass builds ``network`` (an
    :class:`~sksm.energies.network.EnergyNetwork`: input derivatives, Hessian
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
        The layers that compute the energy and its derivatives.
    dtype : numpy dtype
        The dtype the network computes in.
    """

    #: The layers that compute the energy (an EnergyNetwork, set by the
    #: subclass).
    network = None
    #: The dtype the network computes in.
    dtype = None

    @property
    def n_params(self):  # pragma: no cover - abstract
        """Length of the flat parameter vector."""
        raise NotImplementedError

    def get_params(self):  # pragma: no cover - abstract
        """Return the flat parameter vector.

        Returns
        -------
        theta : ndarray of shape (n_params,)
            A new array, in :attr:`dtype`.
        """
        raise NotImplementedError

    def set_params(self, theta):  # pragma: no cover - abstract
        """Set the layers' parameters from the flat vector ``theta``.

        Parameters
        ----------
        theta : array-like of shape (n_params,)
            In the order of :meth:`get_params`; cast to :attr:`dtype`.
        """
        raise NotImplementedError

    def params_gradient(self, grads):  # pragma: no cover - abstract
        """Chain the layers' gradients to the flat parameter vector.

        Parameters
        ----------
        grads : list of dict
            ``network.grads``: for every layer, the gradient of the loss
            with respect to each of its parameters, by name.

        Returns
        -------
        gradient : ndarray of shape (n_params,)
            The gradient with respect to :meth:`get_params`'s vector.
        """
        raise NotImplementedError

    def energy(self, X, exponent=None):
        """Energy of every sample of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Samples as rows (vectors, or images for a Field of Experts).
        exponent : ndarray of shape (n_samples,) or None, default=None
            The samples are ``X * 2**exponent`` (see
            :func:`~sksm.energies.layers.split_exponent`); None: ``X``.

        Returns
        -------
        E : ndarray of shape (n_samples,)
            In :attr:`dtype`.
        """
        return self.network.forward(X, energy=True, exponent=exponent)

    def grad_energy(self, X, exponent=None):
        """Energy and its gradient with respect to every sample of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Samples as rows.
        exponent : ndarray of shape (n_samples,) or None, default=None
            The samples are ``X * 2**exponent``; None: ``X``.

        Returns
        -------
        E : ndarray of shape (n_samples,)
            The energies.
        dE_dx : ndarray of the shape of ``X``
            Their gradients with respect to ``X``.
        """
        E, d, _ = self.network.input_derivatives(X, energy=True, second=False,
                                                 exponent=exponent)
        return E, d

    def input_derivatives(self, X):
        """Energy, gradient and Hessian diagonal at every sample of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Samples as rows.

        Returns
        -------
        E : ndarray of shape (n_samples,)
            The energies.
        dE_dx : ndarray of the shape of ``X``
            Their gradients with respect to ``X``.
        d2E_dx2 : ndarray of the shape of ``X``
            The diagonal of their Hessians (by the diagonal rule, exact for
            one non-linear layer).
        """
        return self.network.input_derivatives(X, energy=True)
