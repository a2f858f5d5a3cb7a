from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from scheduling.models import Environment, FreezeWindow

admin.site.register(Environment, SimpleHistoryAdmin)
admin.site.register(FreezeWindow, SimpleHistoryAdmin)
