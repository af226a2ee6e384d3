"""Customer search ignores case and accents in every script; lists sort as a reader expects."""

import pytest
from django.urls import reverse

from customers.models import Customer
from portal.text import Folded, fold
from tests.factories import CustomerFactory

LIST_URL = reverse("customers:list")

NAMES = ["Müller Bau GmbH", "Øresund Logistik", "Café Nusantara", "CV Maju Jaya", "PT Bumi Sentosa",
         "Ελληνική Ναυτιλία", "Óbuda Kft.", "株式会社さくら", "Сибирь Телеком", "Ärzte AG", "zeta Labs"]


@pytest.fixture
def customers(db):
    return [CustomerFactory(company_name=name) for name in NAMES]


@pytest.mark.parametrize(("query", "expected"), [
    ("MÜLLER", ["Müller Bau GmbH"]),
    ("muller", ["Müller Bau GmbH"]),
    ("øresund", ["Øresund Logistik"]),
    ("ORESUND", ["Øresund Logistik"]),
    ("cafe", ["Café Nusantara"]),
    ("ΕΛΛΗΝΙΚΉ", ["Ελληνική Ναυτιλία"]),
    ("ελληνικη", ["Ελληνική Ναυτιλία"]),
    ("сибирь", ["Сибирь Телеком"]),
    ("さくら", ["株式会社さくら"]),
    ("obuda", ["Óbuda Kft."]),
    ("arzte", ["Ärzte AG"]),
    ("100%", []),
    ("_", []),
])
def test_search_ignores_case_and_accents(signed_in, sales_agent, customers, query, expected):
    response = signed_in(sales_agent).get(LIST_URL, {"q": query})
    assert [c.company_name for c in response.context["page"].object_list] == expected


def test_the_database_folds_as_python_does(customers):
    in_database = dict(Customer.objects.annotate(f=Folded("company_name")).values_list("company_name", "f"))
    assert in_database == {name: fold(name) for name in NAMES}


def test_the_list_sorts_as_a_reader_expects(signed_in, helpdesk_agent, customers):
    response = signed_in(helpdesk_agent).get(LIST_URL)
    latin = [c.company_name for c in response.context["page"].object_list
             if c.company_name[0].isascii() or c.company_name[0] in "ÄÓØ"]
    assert latin == ["Ärzte AG", "Café Nusantara", "CV Maju Jaya", "Müller Bau GmbH", "Óbuda Kft.",
                     "Øresund Logistik", "PT Bumi Sentosa", "zeta Labs"]
