r"""A convolutional layer for energies over images (Fields of Experts).

:class:`Conv2D` applies ``n_filters`` square filters at every position where
they fit inside the image ("valid" positions).  It is written as a patch
matrix times the filter matrix, so its four passes are the matrix-product
rules of :class:`~sksm.energies.Linear` with two extra steps: gathering the
patches of an image (``im2col``) and scattering patch-shaped arrays back onto
the pixels they came from, adding where patches overlap (``col2im``).  The
Hessian diagonal at a pixel thus sums the contributions of every filter
position that covers it, which is exact for a one-layer model.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers import FilterLayer

__all__ = ["Conv2D", "col2im", "field_pass", "im2col"]

#: Filter positions per band of rows in :func:`field_pass`: the responses of
#: a band (48 filters: 1.5 MB in float32) stay in the cache between passes,
#: which halves the time of a whole-image pass on a megapixel image.
_BAND_POSITIONS = 8192


def _offset_slices(size, d):
    """Slices of ``u`` and ``u + d`` for ``u`` and ``u + d`` in ``[0, size)``."""
    return slice(max(0, -d), size - max(0, d)), slice(max(0, d), size + min(0, d))


def _half_offsets(size):
    """Offsets ``(dy, dx)`` up to sign, with the weight of each: 1 at 0, else 2."""
    for dy in range(size):
        for dx in range(-(size - 1), size):
            if dy > 0 or dx >= 0:
                yield dy, dx, 1 if dy == dx == 0 else 2


def im2col(images, size):
    """Gather the patches of images at every valid position.

    Parameters
    ----------
    images : ndarray of shape (n, height, width)
        The images.
    size : int
        Side of the square patches.

    Returns
    -------
    cols : ndarray of shape (n, n_positions, size * size)
        A view where possible; positions row-major, ``n_positions =
        (height - size + 1) * (width - size + 1)``.
    """
    n, height, width = images.shape
    windows = sliding_window_view(images, (size, size), axis=(1, 2))
    out_h, out_w = height - size + 1, width - size + 1
    return windows.reshape(n, out_h * out_w, size * size)


def col2im(cols, size, image_shape):
    """Add patch values back onto the pixels, the adjoint of :func:`im2col`.

    Parameters
    ----------
    cols : ndarray of shape (n, n_positions, size * size)
        Values at every pixel of every patch.
    size : int
        Side of the square patches.
    image_shape : tuple of (int, int)
        ``(height, width)`` of the images.

    Returns
    -------
    images : ndarray of shape (n, height, width)
        Every pixel's sum over the patches that cover it.
    """
    n = cols.shape[0]
    height, width = image_shape
    out_h, out_w = height - size + 1, width - size + 1
    cols = cols.reshape(n, out_h, out_w, size, size)
    images = np.zeros((n, height, width), dtype=cols.dtype)
    for dy in range(size):
        for dx in range(size):
            images[:, dy:dy + out_h, dx:dx + out_w] += cols[:, :, :, dy, dx]
    return images


def field_pass(image, size, analysis, score, synthesis):
    r"""The adjoint of the filters applied to a function of their responses.

    Computes :math:`\sum_p P_p^T\, s(P_p A^T)\, S`, with :math:`P_p` the
    patch of ``image`` at the valid position ``p``, :math:`A` the analysis
    and :math:`S` the synthesis filters: with :math:`S = A` and :math:`s`
    the experts' derivatives, the gradient of a field's energy.  The image
    is taken a band of rows at a time, so that the responses of a band stay
    in the cache from the filters through ``score`` to the synthesis: the
    same sum as ``col2im(score(im2col(x) @ A.T) @ S)``, in about half the
    time on a megapixel image and with memory bounded by the band.

    Parameters
    ----------
    image : ndarray of shape (height, width)
        One image, at least ``size`` pixels a side.
    size : int
        Side of the filters.
    analysis : ndarray of shape (n_filters, size * size)
        The filters whose responses ``score`` takes, flattened row by row,
        in the image's dtype.
    score : callable
        ``score(z)`` maps responses of shape (n_positions, n_filters) to
        an array of that shape (it may overwrite ``z``).
    synthesis : ndarray of shape (n_filters, size * size)
        The filters that scatter the scores back onto the pixels.

    Returns
    -------
    out : ndarray of shape (height, width)
        In the dtype of ``image``.
    """
    height, width = image.shape
    out_h, out_w = height - size + 1, width - size + 1
    out = np.zeros(image.shape, dtype=image.dtype)
    rows = max(1, _BAND_POSITIONS // out_w)
    for top in range(0, out_h, rows):
        end = min(out_h, top + rows)
        z = im2col(image[None, top:end + size - 1], size)[0] @ analysis.T
        # (size*size, positions): each patch entry's values are contiguous
        back = (synthesis.T @ score(z).T).reshape(size, size, end - top,
                                                   out_w)
        for dy in range(size):
            for dx in range(size):
                out[top + dy:end + dy, dx:dx + out_w] += back[dy, dx]
    return out


class Conv2D(FilterLayer):
    r"""Valid 2-D correlation of images with square filters.

    Input ``h`` of shape (n, H, W); output of shape (n, n_positions,
    n_filters) with :math:`o_{p,i} = w_i \cdot h_{(p)}`, the dot product of
    filter ``i`` with the patch at position ``p``.

    Parameters
    ----------
    weight : ndarray of shape (n_filters, size * size)
        The filters, flattened row by row.
    size : int
        Side of the filters.
    """

    param_names = ("weight",)

    def __init__(self, weight, size):
        self.weight = weight
        self.size = size

    def forward(self, h, value=True):
        self._shape = h.shape[1:]
        self._cols = im2col(h, self.size)
        return self._cols @ self.weight.T

    def backward(self, d_o, d2_o, second=True):
        self._d_o, self._d2_o = d_o, d2_o
        d_h = col2im(d_o @ self.weight, self.size, self._shape)
        d2_h = None
        if second and d2_o is not None:
            d2_h = col2im(d2_o @ (self.weight * self.weight), self.size,
                          self._shape)
        return d_h, d2_h

    def _flat(self, a):
        return a.reshape(-1, a.shape[-1])

    def sm_forward(self, a_h, b_h):
        W = self.weight
        a_cols = im2col(a_h, self.size)
        a_o = a_cols @ W.T
        grad = self._flat(self._d_o).T @ self._flat(a_cols)
        b_o = None
        if b_h is not None and self._d2_o is not None:
            b_cols = im2col(b_h, self.size)
            b_o = b_cols @ (W * W).T
            grad += 2 * W * (self._flat(self._d2_o).T @ self._flat(b_cols))
        self._add_grad("weight", grad)
        return a_o, b_o

    def sm_backward(self, c_o, need_input=True):
        if c_o is None:
            return None
        self._add_grad("weight", self._flat(c_o).T @ self._flat(self._cols))
        if not need_input:
            return None
        return col2im(c_o @ self.weight, self.size, self._shape)

    def project(self, v):
        return im2col(v, self.size) @ self.weight.T

    def add_projection_grad(self, r, v):
        self._add_grad("weight",
                       self._flat(r).T @ self._flat(im2col(v, self.size)))

    def hessian_sq_norm(self, d2_o, weight_coef=0.0):
        r"""Squared Frobenius norm of the input Hessian, per image.

        :math:`\sum_{p,q,i,k} \delta'_{p,i} \delta'_{q,k} (f_{p,i} \cdot
        f_{q,k})^2` over filters ``f`` placed at positions ``p``, ``q``.
        Filters overlap only when ``|p - q| < size``, so this costs
        ``(2 size - 1)^2 / 2`` products of ``d2_o`` with (n_filters,
        n_filters) matrices.

        Parameters
        ----------
        d2_o : ndarray of shape (n, n_positions, n_filters)
            :math:`\delta'_o`.
        weight_coef : float, default=0.0
            Non-zero: also add this multiple of the weight gradient of the
            summed norms to ``grads``.

        Returns
        -------
        norms : ndarray of shape (n,)
            The squared norms.
        grad : ndarray of the shape of ``d2_o``
            Their gradient with respect to ``d2_o``.
        """
        M, size = self.weight.shape[0], self.size
        F = self.weight.reshape(M, size, size)
        out_h, out_w = (s_ - size + 1 for s_ in self._shape)
        D = d2_o.reshape(len(d2_o), out_h, out_w, M)
        Q = np.zeros(len(d2_o), dtype=d2_o.dtype)
        grad = np.zeros_like(D)
        gF = np.zeros_like(F)
        for dy, dx, mult in _half_offsets(size):
            # filter overlap G_d[i, k] = sum_u f_i(u) f_k(u + d)
            (uy, vy), (ux, vx) = (_offset_slices(size, dy),
                                  _offset_slices(size, dx))
            a, b = F[:, uy, ux].reshape(M, -1), F[:, vy, vx].reshape(M, -1)
            G = a @ b.T
            G2 = G * G
            # positions p (A) and q = p - d (B)
            (qy, py), (qx, px) = (_offset_slices(out_h, dy),
                                  _offset_slices(out_w, dx))
            A, B = D[:, py, px], D[:, qy, qx]
            AG = A @ G2
            Q += mult * np.einsum("nyxk,nyxk->n", AG, B)
            grad[:, qy, qx] += mult * AG
            grad[:, py, px] += mult * (B @ G2.T)
            if weight_coef:
                R = (2 * weight_coef * mult) * G * (self._flat(A).T
                                                    @ self._flat(B))
                gF[:, uy, ux] += (R @ b).reshape(gF[:, uy, ux].shape)
                gF[:, vy, vx] += (R.T @ a).reshape(gF[:, vy, vx].shape)
        if weight_coef:
            self._add_grad("weight", gF.reshape(M, -1))
        return Q, grad.reshape(d2_o.shape)
