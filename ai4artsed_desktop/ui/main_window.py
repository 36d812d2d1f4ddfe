"""MainWindow: header (language, log folder, demo badge), page navigation, status bar."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import AppError
from .i18n import Translator
from .pages.create_page import CreatePage
from .viewmodels.settings_vm import SettingsViewModel
from .wheel_guard import guard_wheel
from .widgets.error_banner import ErrorBanner
from .widgets.path_dialog import open_folder
from .widgets.status_bar import StatusBar
from .window_geometry import DEFAULT_SIZE, fit_to_screen, read_geometry, write_geometry

PAGE_IDS = ("create", "history", "training", "settings", "lab")
#: Pages students may not see while the teacher lock is locked.
LOCKED_PAGES = frozenset({"training", "settings", "lab"})
MINIMUM_SIZE = QSize(1100, 680)  # fits 1366x768 with taskbar and window frame
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


class MainWindow(QMainWindow):
    """The window. Closing it only asks the app to quit (``close_requested``).

    Signals:
        close_requested(): the user closed the window; ``app.py`` runs the ordered shutdown.
    """

    close_requested = Signal()

    def __init__(
        self,
        *,
        translator: Translator,
        settings_vm: SettingsViewModel,
        pages: dict[str, QWidget],
        status_bar: StatusBar,
        log_dir: Path,
        icons_dir: Path,
        demo: bool = False,
        lock_button: QWidget | None = None,
        geometry_file: Path | None = None,
    ):
        super().__init__()
        self._geometry_file = geometry_file
        self._quit_guard: Callable[[], str] | None = None
        self._hidden_pages: set[str] = set()
        self._profile_name = ""
        self.lock_button = lock_button
        self._tr = translator
        self._settings_vm = settings_vm
        self._log_dir = log_dir
        self.pages = pages
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setMinimumSize(MINIMUM_SIZE)
        self._create_header(icons_dir, demo)
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.stack = QStackedWidget()
        self.banner = ErrorBanner(translator, log_dir)
        self.page_actions: list[QAction] = []
        self.open_log_action = QAction(self)
        self.open_log_action.triggered.connect(self.open_log_folder)
        self.addAction(self.open_log_action)
        self._build_navigation(icons_dir)
        self._build_layout(status_bar)
        self._sync_language_combo(settings_vm.language)
        self.language_combo.currentIndexChanged.connect(self._on_language_combo_changed)
        self.log_button.clicked.connect(self.open_log_folder)
        self.nav.currentRowChanged.connect(self._on_nav_row_changed)
        settings_vm.language_changed.connect(self._sync_language_combo)
        settings_vm.error_raised.connect(self.show_app_error_outside_settings)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self.show_page("create")

    def _create_header(self, icons_dir: Path, demo: bool) -> None:
        self.title_label = QLabel(APP_NAME)
        self.title_label.setObjectName("appTitle")
        self.demo_badge = QLabel()
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setVisible(demo)
        self.profile_label = QLabel()
        self.profile_label.setObjectName("profileBadge")
        self.profile_label.hide()
        self.language_label = QLabel()
        self.language_combo = QComboBox()
        for code in self._tr.languages:
            self.language_combo.addItem(LANGUAGE_NAMES.get(code, code), code)
        self.language_label.setBuddy(self.language_combo)
        self.log_button = QPushButton()
        self.log_button.setIcon(QIcon(str(icons_dir / "folder.svg")))

    def _build_navigation(self, icons_dir: Path) -> None:
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(190)
        self.nav.setFrameShape(QFrame.Shape.NoFrame)
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for number, page_id in enumerate(PAGE_IDS, start=1):
            item = QListWidgetItem(QIcon(str(icons_dir / f"{page_id}.svg")), "")
            item.setData(Qt.ItemDataRole.UserRole, page_id)
            item.setSizeHint(QSize(180, 44))
            self.nav.addItem(item)
            self.stack.addWidget(self.pages[page_id])
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _checked=False, p=page_id: self.show_page(p))
            self.addAction(action)
            self.page_actions.append(action)

    def _build_layout(self, status_bar: StatusBar) -> None:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(20, 10, 16, 10)
        row.setSpacing(10)
        row.addWidget(self.title_label)
        row.addWidget(self.demo_badge)
        row.addWidget(self.profile_label)
        row.addStretch(1)
        if self.lock_button is not None:
            row.addWidget(self.lock_button)
        row.addWidget(self.language_label)
        row.addWidget(self.language_combo)
        row.addWidget(self.log_button)
        content = QWidget()
        content_column = QVBoxLayout(content)
        content_column.setContentsMargins(0, 0, 0, 0)
        content_column.setSpacing(0)
        content_column.addWidget(self.banner)
        content_column.addWidget(self.stack, 1)
        self._content_column = content_column
        self.assistant: QWidget | None = None
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.nav)
        body.addWidget(content, 1)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(header)
        column.addLayout(body, 1)
        self.setCentralWidget(central)
        self.setStatusBar(status_bar)
        chain: list[QWidget] = [self.language_combo, self.log_button, self.nav]
        if self.lock_button is not None:
            chain.insert(2, self.lock_button)
        create_page = self.pages["create"]
        if isinstance(create_page, CreatePage):
            chain += create_page.focus_chain()
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def retranslate(self) -> None:
        tr = self._tr.tr
        for row, page_id in enumerate(PAGE_IDS):
            item = self.nav.item(row)
            item.setText(tr(f"nav.{page_id}"))
            item.setToolTip(tr("nav.shortcut", page=tr(f"nav.{page_id}"), number=row + 1))
            self.page_actions[row].setText(tr(f"nav.{page_id}"))
        self.nav.setAccessibleName(tr("nav.accessible"))
        self.nav.setAccessibleDescription(tr("nav.accessible_help"))
        self.demo_badge.setText(tr("header.demo_badge"))
        self.demo_badge.setToolTip(tr("header.demo_badge_help"))
        self.demo_badge.setAccessibleName(tr("header.demo_badge"))
        self.demo_badge.setAccessibleDescription(tr("header.demo_badge_help"))
        self.language_label.setText(tr("header.language"))
        self.language_combo.setAccessibleName(tr("header.language"))
        self.language_combo.setToolTip(tr("header.language_help"))
        self.log_button.setText(tr("action.open_log_folder"))
        self.log_button.setAccessibleName(tr("action.open_log_folder"))
        self.log_button.setToolTip(tr("action.open_log_folder_help"))
        self.open_log_action.setText(tr("action.open_log_folder"))
        self.set_profile_name(self._profile_name)

    # ------------------------------------------------------------------ navigation
    @property
    def current_page(self) -> str:
        return PAGE_IDS[self.stack.currentIndex()]

    def show_page(self, page_id: str) -> None:
        """Switch to ``page_id``; a page hidden by the teacher lock cannot be reached."""
        if page_id not in self._hidden_pages:
            self.nav.setCurrentRow(PAGE_IDS.index(page_id))

    def set_locked(self, locked: bool) -> None:
        """Hide (or show again) the pages the teacher lock protects."""
        self._hidden_pages = set(LOCKED_PAGES) if locked else set()
        for row, page_id in enumerate(PAGE_IDS):
            hidden = page_id in self._hidden_pages
            self.nav.item(row).setHidden(hidden)
            self.page_actions[row].setEnabled(not hidden)
        if self.current_page in self._hidden_pages:
            self.show_page("create")

    def show_assistant(self, widget: QWidget) -> None:
        """Show ``widget`` (the first-run assistant) in place of the navigation and pages."""
        self.assistant = widget
        guard_wheel(widget)
        self._content_column.addWidget(widget, 1)
        self.nav.hide()
        self.stack.hide()
        widget.show()

    def end_assistant(self) -> None:
        """Remove the assistant and open the Create page."""
        if self.assistant is not None:
            self._content_column.removeWidget(self.assistant)
            self.assistant.hide()
            self.assistant.deleteLater()
            self.assistant = None
        self.nav.show()
        self.stack.show()
        self.show_page("create")

    def page_visible(self, page_id: str) -> bool:
        """False while the teacher lock hides ``page_id``."""
        return page_id not in self._hidden_pages

    def set_profile_name(self, name: str) -> None:
        """Show the active lesson profile in the header (hidden when there is none)."""
        tr = self._tr.tr
        self._profile_name = name
        self.profile_label.setText(tr("lesson.header_profile", name=name) if name else "")
        self.profile_label.setAccessibleName(self.profile_label.text())
        self.profile_label.setVisible(bool(name))

    def _on_nav_row_changed(self, row: int) -> None:
        if 0 <= row < len(PAGE_IDS) and PAGE_IDS[row] in self._hidden_pages:
            self.nav.setCurrentRow(PAGE_IDS.index("create"))
            return
        self.stack.setCurrentIndex(row)
        page = self.stack.currentWidget()
        if page is not None:
            guard_wheel(page)  # controls the page built since

    # ------------------------------------------------------------------ actions
    def open_log_folder(self) -> None:
        open_folder(self._log_dir, self._tr, self)

    def _on_language_combo_changed(self, index: int) -> None:
        code = str(self.language_combo.itemData(index))
        if code != self._settings_vm.language and not self._settings_vm.set_value(
            "ui.language", code
        ):
            self._sync_language_combo(self._settings_vm.language)

    def _sync_language_combo(self, language: str) -> None:
        self.language_combo.blockSignals(True)
        self.language_combo.setCurrentIndex(max(self.language_combo.findData(language), 0))
        self.language_combo.blockSignals(False)

    def show_app_error_outside_settings(self, error: AppError) -> None:
        """:meth:`show_error_outside_settings` for an error the banner rewords on a switch."""
        if self.current_page != "settings":
            self.banner.show_app_error(error)

    def show_error_outside_settings(self, message: str, detail: str) -> None:
        """Show an error of a settings-page view-model unless that page (and banner) is shown."""
        if self.current_page != "settings":
            self.banner.show_error(message, detail)

    def show_settings_notice(self, problems: Sequence[str], copy: Path | None) -> None:
        """Say that the settings file was damaged, what applies now, and where the copy is."""
        kids = any(p.startswith("safety.level: unreadable") for p in problems)

        def words() -> str:
            tr = self._tr.tr
            parts = [tr("house.settings_damaged")]
            if kids:
                parts.append(tr("house.settings_level_kids"))
            copied = tr("house.settings_copy", copy=str(copy)) if copy else None
            parts.append(copied or tr("house.settings_no_copy"))
            return " ".join(parts)

        self.banner.show_worded(words, "\n".join(problems))

    # ------------------------------------------------------------------ geometry
    def restore_geometry(self) -> None:
        """Size and place the window as it was left, fitted to the screen it is on now."""
        saved = read_geometry(self._geometry_file) if self._geometry_file else None
        if saved is not None:
            self.restoreGeometry(QByteArray(saved))
        else:
            self.resize(DEFAULT_SIZE)
        fit_to_screen(self)

    def save_geometry(self) -> None:
        """Remember size, place and maximised state for the next start."""
        if self._geometry_file is not None:
            write_geometry(self._geometry_file, bytes(self.saveGeometry().data()))

    def set_demo(self, demo: bool) -> None:
        """Show or hide the "demo backends" badge."""
        self.demo_badge.setVisible(demo)

    def set_quit_guard(self, guard: Callable[[], str]) -> None:
        """``guard()`` names the work that would be lost by quitting now ("" = none)."""
        self._quit_guard = guard

    def confirm_quit(self) -> bool:
        """Ask "really quit?" while a generation or training runs; True to go ahead."""
        reason = self._quit_guard() if self._quit_guard is not None else ""
        if not reason:
            return True
        tr = self._tr.tr
        box = QMessageBox(QMessageBox.Icon.Warning, tr("house.quit_title"), reason, parent=self)
        box.setObjectName("quitQuestion")
        box.setInformativeText(tr("house.quit_saved"))
        quit_button = box.addButton(tr("house.quit_anyway"), QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton(tr("house.quit_stay"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.exec()
        return box.clickedButton() is quit_button

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_quit():
            event.ignore()
            return
        self.save_geometry()
        meta = self.metaObject()
        signal = meta.method(meta.indexOfSignal("close_requested()"))
        if self.isSignalConnected(signal):
            event.ignore()  # the app quits after its asynchronous shutdown
            self.close_requested.emit()
        else:
            event.accept()
