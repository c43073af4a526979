from django.contrib import admin

from .models import PartFamily, SymptomCode


@admin.register(PartFamily)
class PartFamilyAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "important", "active", "position")


@admin.register(SymptomCode)
class SymptomCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "family", "active")
