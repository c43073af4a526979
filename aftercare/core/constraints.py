"""Constraints Django does not declare itself."""

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.ddl_references import Statement, Table
from django.db.models import BaseConstraint
from django.utils.translation import gettext_lazy as _


class CompositeForeignKey(BaseConstraint):
    """A foreign key over several columns, deferred to the commit like Django's own.

    Store-owned rows use it for their customer: `(store, customer) → Customer (store, id)` says in the database
    that the customer is one of the row's own store, and it replaces the single-column keys of `store` and
    `customer` (declared `db_constraint=False`): one check per inserted row instead of two, on the rows a DMS
    import writes by the million. It is also the form Citus requires of a key between tables sharded by store.

    `fields` and `to_fields` are field names. The last of `fields` is the relation the key checks: its model is
    the target (whose `to_fields` need a unique constraint: `Customer`'s `customer_store_id_unique`), and a
    `full_clean()` error is put on it.
    """

    KEY_SQL = "FOREIGN KEY (%(columns)s) REFERENCES %(to_table)s (%(to_columns)s)%(deferrable)s"
    default_violation_error_message = _("This row refers to a row that does not exist or belongs to another store.")

    def __init__(self, *, fields, to_fields, name, violation_error_message=None):
        if len(fields) != len(to_fields) or len(fields) < 2:
            raise ValueError("CompositeForeignKey needs two or more fields and as many target fields.")
        self.fields = tuple(fields)
        self.to_fields = tuple(to_fields)
        super().__init__(name=name, violation_error_message=violation_error_message)

    def _target(self, model):
        # the related model itself (SQLite rebuilds a table in an app registry of its own, without the target)
        return model._meta.get_field(self.fields[-1]).related_model

    def _sql_parts(self, model, schema_editor) -> dict:
        target = self._target(model)
        quote = schema_editor.quote_name
        return {
            "table": Table(model._meta.db_table, quote),
            "name": quote(self.name),
            "columns": ", ".join(quote(model._meta.get_field(f).column) for f in self.fields),
            "to_table": quote(target._meta.db_table),
            "to_columns": ", ".join(quote(target._meta.get_field(f).column) for f in self.to_fields),
            # checked at the commit, as Django declares its own keys (on SQLite too: `ops.deferrable_sql()` is empty
            # there, Django writes SQLite's inline keys with this clause itself)
            "deferrable": " DEFERRABLE INITIALLY DEFERRED",
        }

    def constraint_sql(self, model, schema_editor):
        """Inline, in CREATE TABLE (SQLite rebuilds tables with it)."""
        return Statement("CONSTRAINT %(name)s " + self.KEY_SQL, **self._sql_parts(model, schema_editor))

    def create_sql(self, model, schema_editor):
        return Statement(
            "ALTER TABLE %(table)s ADD CONSTRAINT %(name)s " + self.KEY_SQL, **self._sql_parts(model, schema_editor)
        )

    def remove_sql(self, model, schema_editor):
        return schema_editor._delete_constraint_sql(schema_editor.sql_delete_fk, model, self.name)

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        """`full_clean()`: the target row exists (e.g. the customer is of the row's store)."""
        if exclude and set(self.fields) & set(exclude):
            return
        values = [getattr(instance, model._meta.get_field(f).attname) for f in self.fields]
        if any(v is None for v in values):
            return
        target = self._target(model)
        lookup = {target._meta.get_field(f).attname: v for f, v in zip(self.to_fields, values, strict=True)}
        if not target._base_manager.using(using).filter(**lookup).exists():
            error = ValidationError(self.get_violation_error_message(), code=self.violation_error_code)
            raise ValidationError({self.fields[-1]: error})

    def __eq__(self, other):
        if isinstance(other, CompositeForeignKey):
            return self.deconstruct() == other.deconstruct()
        return super().__eq__(other)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs.update(fields=self.fields, to_fields=self.to_fields)
        return path, args, kwargs
