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

from .layers import Layer

__all__ = ["Conv2D", "col2im", "im2col"]


def im2col(images, size):
    """Patches of ``images`` (n, H, W) as an array (n, n_positions, size**2)."""
    n, height, width = images.shape
    windows = sliding_window_view(images, (size, size), axis=(1, 2))
    out_h, out_w = height - size + 1, width - size + 1
    return windows.reshape(n, out_h * out_w, size * size)


def col2im(cols, size, image_shape):
    """Adjoint of :func:`im2col`: add patch values back onto the pixels."""
    n = cols.shape[0]
    height, width = image_shape
    out_h, out_w = height - size + 1, width - size + 1
    cols = cols.reshape(n, out_h, out_w, size, size)
    images = np.zeros((n, height, width), dtype=cols.dtype)
    for dy in range(size):
        for dx in range(size):
            images[:, dy:dy + out_h, dx:dx + out_w] += cols[:, :, :, dy, dx]
    return images


class Conv2D(Layer):
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
