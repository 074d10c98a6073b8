"""Search over every title the site knows, with the database's own full-text search (SQLite
FTS5, PostgreSQL tsvector): accents, case, prefixes, scripts, hostile characters, ranking."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profile.mirror.search import Query, search
from profile.models import Title
from tests import mirror

pytestmark = [pytest.mark.both_databases, pytest.mark.django_db]


@pytest.fixture
def titles():
    known = {
        name: mirror.title(name, year=year)
        for name, year in [
            ("Amélie", 2001),
            ("São Paulo, Meu Amor", 2019),
            ("Blade Runner", 1982),
            ("Blade Runner 2049", 2017),
            ("Blade of the Immortal", 2017),
            ("東京物語", 1953),
            ("İstanbul Hatırası", 2010),
            ("Işıklar Sönmesin", 1996),
            ("Schindler's List", 1993),
            ("100% Wolf", 2020),
            ("snake_case Story", 2021),
            ("Spider-Man: No Way Home", 2021),
            ("Москва слезам не верит", 1980),
            ("기생충", 2019),
        ]
    }
    mirror.play(known["Blade Runner 2049"], "2024-01-01T20:00:00Z")
    mirror.play(known["Blade of the Immortal"], "2024-01-02T20:00:00Z")
    return known


def found(query: str) -> list[str]:
    return [hit.title.title for hit in search(query)]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("amelie", "Amélie"),
        ("AMÉLIE", "Amélie"),
        ("Amel", "Amélie"),
        ("sao paulo", "São Paulo, Meu Amor"),
        ("SÃO", "São Paulo, Meu Amor"),
        ("東京", "東京物語"),
        ("物語", "東京物語"),
        ("istanbul", "İstanbul Hatırası"),
        ("İSTANBUL", "İstanbul Hatırası"),
        ("ıstanbul", "İstanbul Hatırası"),
        ("hatirasi", "İstanbul Hatırası"),
        ("ışık", "Işıklar Sönmesin"),
        ("isiklar", "Işıklar Sönmesin"),
        ("IŞIKLAR", "Işıklar Sönmesin"),
        ("schindler's", "Schindler's List"),
        ("schindlers list", "Schindler's List"),
        ("schindler", "Schindler's List"),
        ("Schindler’s", "Schindler's List"),  # a typographic apostrophe
        ("100%", "100% Wolf"),
        ("snake_case", "snake_case Story"),
        ("spider-man", "Spider-Man: No Way Home"),
        ("spiderman", "Spider-Man: No Way Home"),
        ("spider man home", "Spider-Man: No Way Home"),
        ("москва", "Москва слезам не верит"),
        ("МОСК", "Москва слезам не верит"),
        ("기생", "기생충"),
        ("1982", "Blade Runner"),
    ],
)
def test_it_finds_titles_whatever_the_case_accents_and_script(titles, query, title):
    assert title in found(query)


def test_every_word_is_a_prefix_while_typing(titles):
    assert found("blade ru") == ["Blade Runner 2049", "Blade Runner"]  # watched first
    assert found("bl im") == ["Blade of the Immortal"]
    assert found("b") == found("bl")[: len(found("b"))]


def test_an_exact_title_comes_first_then_what_was_watched(titles):
    assert found("blade runner") == ["Blade Runner", "Blade Runner 2049"]
    assert found("blade")[:2] == ["Blade Runner 2049", "Blade of the Immortal"]
    assert search("blade runner")[0].exact and not search("blade runner")[1].exact
    assert search("blade runner")[1].plays == 1


@pytest.mark.parametrize(
    "query",
    ["", "   ", "%", "_", "%%", "%_%", "'", '"', "*", "-", ":", "()", "NEAR", "' OR 1=1 --"],
)
def test_a_query_without_words_or_of_wildcards_finds_nothing_and_breaks_nothing(titles, query):
    assert search(query) == []


def test_search_syntax_in_a_query_is_only_words(titles):
    # FTS5's and tsquery's operators are read as words, not obeyed.
    assert found('blade" OR "amelie') == []
    assert found("blade & !runner | amelie:*") == []
    assert found("NOT blade") == []


def test_a_500_character_query_is_read_up_to_its_first_words(titles):
    assert found("blade " * 100) == found("blade")
    assert search("x" * 500) == []
    assert Query.of("a " * 250).fts5.count('"') == 2 * 12  # twelve words at most


def test_it_asks_the_full_text_index_not_a_scan_in_python(titles):
    with CaptureQueriesContext(connection) as queries:
        search("blade")

    searched = queries.captured_queries[0]["sql"]
    assert "MATCH" in searched or "@@" in searched
    # The match, then the hits' rows, plays, favourites, watchlist and lists.
    assert len(queries.captured_queries) == 6


def test_a_renamed_title_is_found_by_its_new_name_only(titles):
    amelie = titles["Amélie"]
    amelie.title = "Le Fabuleux Destin d'Amélie Poulain"
    amelie.save()
    Title.objects.filter(pk=titles["Blade Runner"].pk).update(title="Bladerunner")
    # A bulk rename (as the sync writes titles) goes through the same words.
    renamed = Title.objects.get(pk=titles["Blade Runner"].pk)
    renamed.save()

    assert "Le Fabuleux Destin d'Amélie Poulain" in found("destin amelie")
    assert found("fabuleux") == ["Le Fabuleux Destin d'Amélie Poulain"]
    assert "Bladerunner" in found("bladerunner")
    assert "Blade Runner" not in found("blade runner")


def test_a_title_removed_from_the_mirror_is_no_longer_found(titles):
    titles["Amélie"].delete()

    assert found("amelie") == []


def test_where_a_hit_is_known_from(titles):
    from profile.models import Favorite

    Favorite.objects.create(title=titles["Amélie"], rank=1)

    hit = search("amelie")[0]
    assert hit.favorite and not hit.watchlist and hit.plays == 0 and hit.lists == ()
