"""The "?" of every estimator's HTML repr links to its API page (issue 17)."""

import inspect
import re

import pytest
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sksm
from sksm._base import DOC_URL

ESTIMATORS = [getattr(sksm, name) for name in sksm.__all__
              if inspect.isclass(getattr(sksm, name))
              and issubclass(getattr(sksm, name), BaseEstimator)]


def test_every_public_estimator_is_covered():
    assert {cls.__name__ for cls in ESTIMATORS} == {
        "RegularizedScoreMatchingPoE", "FieldsOfExperts", "GaussianRBM",
        "NoiseConditionalFieldsOfExperts"}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_html_repr_links_to_the_api_page(cls):
    url = f"{DOC_URL}generated/sksm.{cls.__name__}.html"
    assert cls()._get_doc_link() == url
    html = cls()._repr_html_()
    assert f'href="{url}"' in html
    # inside a pipeline too, next to scikit-learn's own link
    html = make_pipeline(StandardScaler(), cls())._repr_html_()
    assert f'href="{url}"' in html
    assert re.search(r'href="https://scikit-learn\.org/[^"]*StandardScaler',
                     html)


def test_a_subclass_outside_sksm_gets_no_link():
    class Mine(sksm.RegularizedScoreMatchingPoE):
        pass

    Mine.__module__ = "mypackage.models"
    assert Mine()._get_doc_link() == ""
