r"""Base distributions of annealed importance sampling and of the chains of
``sample``: tractable densities with a known normaliser, exact draws and the
energy and its gradient.

- :class:`Gaussian`, a Gaussian of given mean and precision;
- :class:`StudentTProduct`, a product of Student-t experts along a complete
  set of filters: the model itself for a complete Product of Experts, and
  for an overcomplete one a part of it (:meth:`StudentTProduct.from_experts`)
  with the experts' own heavy tails;
- :class:`Mixture`, a mixture of bases, such as the two above.
"""

import numpy as np
from scipy.linalg import qr

from .._validation import check_not_bool, check_positive
from ..experts import StudentT

__all__ = ["Gaussian", "Mixture", "StudentTProduct"]


class Gaussian:
    """A Gaussian base distribution ``N(mean, inv(precision))`` for AIS.

    Parameters
    ----------
    mean : ndarray of shape event_shape
        The mean, of the shape of one sample (a vector, or an image).
    precision : ndarray of shape (n, n)
        Symmetric positive definite, ``n = mean.size``.

    Raises
    ------
    ValueError
        If ``precision`` does not have shape (n, n) or is not positive
        definite.
    """

    def __init__(self, mean, precision):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.precision = np.asarray(precision, dtype=np.float64)
        n = self.mean.size
        if self.precision.shape != (n, n):
            raise ValueError(f"precision must have shape {(n, n)}, got "
                             f"{self.precision.shape}.")
        try:
            self._chol = np.linalg.cholesky(self.precision)
        except np.linalg.LinAlgError as exc:
            raise ValueError("precision is not positive definite.") from exc

    @property
    def log_partition(self):
        """:math:`\\log \\int \\exp(-E_0)`, for ``E_0`` of :meth:`energy_grad`."""
        n = self.mean.size
        return (0.5 * n * np.log(2 * np.pi)
                - np.sum(np.log(np.diag(self._chol))))

    def energy_grad(self, x):
        """Compute ``E_0 = (x - mean)^T P (x - mean) / 2`` and its gradient.

        Parameters
        ----------
        x : ndarray of shape (n_chains, \\*event_shape)
            Points, one per chain.

        Returns
        -------
        E : ndarray of shape (n_chains,)
            The energies, in float64.
        dE_dx : ndarray of the shape of ``x``
            Their gradients.
        """
        r = (x - self.mean).reshape(len(x), -1)
        g = r @ self.precision
        return 0.5 * np.einsum("ij,ij->i", r, g), g.reshape(x.shape)

    def sample(self, n, rng):
        """Draw ``n`` independent samples.

        Parameters
        ----------
        n : int
            Number of samples.
        rng : numpy.random.RandomState
            The source of the draws.

        Returns
        -------
        samples : ndarray of shape (n, \\*event_shape)
            In float64.
        """
        # x = mean + L^{-T} z has covariance (L L^T)^{-1} = P^{-1}
        z = rng.standard_normal((self.mean.size, n))
        r = np.linalg.solve(self._chol.T, z).T
        return self.mean + r.reshape((n,) + self.mean.shape)


class StudentTProduct:
    r"""A product of Student-t experts along ``n`` independent filters.

    The density of :math:`x` is

    .. math::

        q(x) = \frac{1}{Z_0} \prod_{i=1}^{n}
        \left(1 + \tfrac{1}{2} c^2 u_i^2\right)^{-\alpha_i},
        \qquad u = B (x - m) / s,

    so the responses :math:`u_i` are independent, each a scaled Student-t
    with :math:`2 \alpha_i - 1` degrees of freedom, and

    .. math::

        \log Z_0 = \sum_i \log Z(\alpha_i) - \log |\det B| + n \log s,

    with :math:`Z(\alpha)` of :meth:`sksm.experts.StudentT.log_normalizer`.
    A complete Product of Experts is such a density; for an overcomplete one,
    :meth:`from_experts` keeps ``n`` of its experts.

    Parameters
    ----------
    mean : ndarray of shape (n,)
        The centre :math:`m`.
    filters : ndarray of shape (n, n)
        The filters :math:`B` as rows, linearly independent.
    weights : ndarray of shape (n,)
        The expert weights :math:`\alpha_i`, each above 1/2.
    c : float
        The experts' horizontal scale.
    scale : float, default=1.0
        The input scale :math:`s > 0`.

    Raises
    ------
    ValueError
        If the shapes do not match, a weight is at most 1/2 or the filters
        are linearly dependent.
    """

    def __init__(self, mean, filters, weights, c, scale=1.0):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.filters = np.asarray(filters, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.scale = check_positive(scale, "scale", "the input scale")
        self._expert = StudentT(c)
        n = self.mean.size
        if self.filters.shape != (n, n) or self.weights.shape != (n,):
            raise ValueError(
                f"filters must have shape {(n, n)} and weights {(n,)}, got "
                f"{self.filters.shape} and {self.weights.shape}.")
        sign, logdet = np.linalg.slogdet(self.filters)
        if sign == 0 or not np.isfinite(logdet):
            raise ValueError("The filters of a StudentTProduct are linearly "
                             "dependent: it is not a density.")
        self._logdet = logdet
        self._log_z = self._expert.log_normalizer(self.weights)  # checks > 1/2

    @classmethod
    def from_experts(cls, mean, filters, weights, c, scale=1.0):
        """The product of ``n`` of the given experts, ``n = filters.shape[1]``.

        With the model's own filters and weights, the model's energy minus the
        base's is the energy of the experts left out, which is never
        negative: every importance weight of AIS lies in [0, 1].  The ``n``
        kept are the first pivots of a column-pivoted QR decomposition of
        the filters scaled by :math:`\\sqrt{\\alpha_i}`, the greedy choice of
        the most independent, stiffest experts (the largest :math:`|\\det
        B|^2 \\prod \\alpha_i`, the determinant of the base's curvature at its
        mode).

        Parameters
        ----------
        mean : ndarray of shape (n,)
            The centre :math:`m`.
        filters : ndarray of shape (n_experts, n)
            At least ``n`` experts spanning :math:`R^n`.
        weights : ndarray of shape (n_experts,)
            Their weights, each above 1/2.
        c : float
            The experts' horizontal scale.
        scale : float, default=1.0
            The input scale :math:`s > 0`.

        Returns
        -------
        base : StudentTProduct

        Raises
        ------
        ValueError
            If there are fewer than ``n`` filters or they do not span
            :math:`R^n`.
        """
        filters = np.asarray(filters, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        n_experts, n = filters.shape
        if n_experts < n:
            raise ValueError(f"{n_experts} experts cannot make a density on "
                             f"{n} dimensions; at least {n} are needed.")
        if n_experts == n:
            keep = np.arange(n)
        else:
            scaled = np.sqrt(weights)[:, None] * filters
            keep = np.sort(qr(scaled.T, mode="r", pivoting=True)[1][:n])
        return cls(mean, filters[keep], weights[keep], c, scale)

    @property
    def log_partition(self):
        """:math:`\\log Z_0`, the log normaliser of ``exp(-E_0)``."""
        return float(np.sum(self._log_z) - self._logdet
                     + self.mean.size * np.log(self.scale))

    def energy_grad(self, x):
        """Compute ``E_0(x) = sum_i alpha_i g(u_i)`` and its gradient.

        Parameters
        ----------
        x : ndarray of shape (n_chains, n)
            Points, one per chain.

        Returns
        -------
        E : ndarray of shape (n_chains,)
            The energies, in float64.
        dE_dx : ndarray of shape (n_chains, n)
            Their gradients.
        """
        u = ((x - self.mean) / self.scale) @ self.filters.T
        g, g1 = self._expert.derivatives(u, value=True, order=1)[:2]
        return g @ self.weights, (g1 * self.weights) @ self.filters / self.scale

    def sample(self, n, rng):
        """Draw ``n`` independent samples.

        Parameters
        ----------
        n : int
            Number of samples.
        rng : numpy.random.RandomState
            The source of the draws.

        Returns
        -------
        samples : ndarray of shape (n, n_features)
            In float64; responses of experts whose weight is near 1/2 can
            be so large that a draw overflows to infinity.
        """
        dof = 2 * self.weights - 1
        t = rng.standard_t(dof, size=(n, self.mean.size))
        with np.errstate(over="ignore", invalid="ignore"):
            u = t * (np.sqrt(2 / dof) / self._expert.c)
            return self.mean + self.scale * np.linalg.solve(self.filters,
                                                            u.T).T


class Mixture:
    r"""A mixture of base distributions, :math:`q = \sum_k \pi_k q_k`.

    With a light-tailed and a heavy-tailed component, a defensive mixture
    (Hesterberg 1995): the importance weight :math:`p / q` is at most
    :math:`p / (\pi_k q_k)` for every component, so the mixture fails only
    where all its components do.

    Parameters
    ----------
    components : sequence of base distributions
        Each with ``mean``, ``sample(n, rng)``, ``energy_grad(x)`` and
        ``log_partition``, on the same space.
    proportions : array-like of shape (n_components,), default=None
        The mixing proportions :math:`\pi_k`, positive; None for equal ones.

    Raises
    ------
    ValueError
        If there is no component, the components' means differ in shape or
        the proportions are not positive or do not match.
    """

    def __init__(self, components, proportions=None):
        self.components = list(components)
        k = len(self.components)
        if k == 0:
            raise ValueError("A Mixture needs at least one component.")
        shapes = {np.shape(c.mean) for c in self.components}
        if len(shapes) != 1:
            raise ValueError(f"The components live on different spaces: "
                             f"means of shapes {sorted(shapes)}.")
        self.mean = self.components[0].mean
        pi = (np.full(k, 1.0 / k) if proportions is None
              else np.asarray(check_not_bool(proportions, "proportions",
                                             "positive numbers"),
                              dtype=np.float64))
        if pi.shape != (k,) or not np.all(pi > 0):
            raise ValueError(f"proportions must be {k} positive numbers, got "
                             f"{proportions!r}.")
        self.proportions = pi / pi.sum()

    @property
    def log_partition(self):
        """0: ``exp(-E_0)`` is the normalised mixture density itself."""
        return 0.0

    def energy_grad(self, x):
        """Compute ``E_0(x) = -log q(x)`` and its gradient.

        Parameters
        ----------
        x : ndarray of shape (n_chains, \\*event_shape)
            Points, one per chain.

        Returns
        -------
        E : ndarray of shape (n_chains,)
            ``-log q(x)``, in float64.
        dE_dx : ndarray of the shape of ``x``
            Its gradient: the components' gradients weighted by their
            responsibilities.
        """
        parts = [c.energy_grad(x) for c in self.components]
        log_terms = np.stack([
            np.log(p) - E - c.log_partition
            for p, c, (E, _) in zip(self.proportions, self.components, parts)])
        # log-sum-exp over the components, shifted by their maximum (scipy's
        # logsumexp costs more than the model's energy at a few components)
        top = log_terms.max(axis=0)
        resp = np.exp(log_terms - top)
        total = resp.sum(axis=0)
        log_q = top + np.log(total)
        resp /= total
        grad = sum(r.reshape((-1,) + (1,) * (x.ndim - 1)) * d
                   for r, (_, d) in zip(resp, parts))
        return -log_q, grad

    def sample(self, n, rng):
        """Draw ``n`` independent samples (a component, then a draw).

        Every sample picks a component by its proportion, then draws from it.

        Parameters
        ----------
        n : int
            Number of samples.
        rng : numpy.random.RandomState
            The source of the draws.

        Returns
        -------
        samples : ndarray of shape (n, \\*event_shape)
            In float64.
        """
        which = rng.choice(len(self.components), size=n, p=self.proportions)
        out = np.empty((n,) + np.shape(self.mean))
        for k, component in enumerate(self.components):
            rows = which == k
            if rows.any():
                out[rows] = component.sample(int(rows.sum()), rng)
        return out
