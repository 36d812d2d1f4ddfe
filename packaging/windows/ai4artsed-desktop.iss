; Inno Setup 6 script of AI4ArtsEd Desktop (per-machine install, Windows 10/11 x64).
;
; Build on Windows, from the repository root, after the PyInstaller bundle exists:
;   pyinstaller --noconfirm --clean packaging\pyinstaller\ai4artsed-desktop.spec
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\ai4artsed-desktop.iss
; Result: dist\installer\ai4artsed-desktop-<version>-setup.exe
;
; The program folder (Program Files) is read-only for the app: settings, runs, logs, caches
; and trained LoRAs live in the user's folders (platformdirs: %LOCALAPPDATA%\ai4artsed-desktop),
; or below --data-dir for portable / lab installs. The uninstaller removes only the program
; folder and the shortcuts, never a user's data.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "AI4ArtsEd Desktop"
#define AppExe "ai4artsed-desktop.exe"
#define AppCliExe "ai4artsed-desktop-cli.exe"
#define BundleDir "..\..\dist\ai4artsed-desktop"

[Setup]
; Never change the AppId: upgrades and the uninstaller find the installed copy through it.
AppId={{15936AAC-197A-4863-A68C-B822437EA797}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=AI4ArtsEd
; Per-machine install into Program Files (needs an administrator once, as school IT expects).
PrivilegesRequired=admin
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist\installer
OutputBaseFilename=ai4artsed-desktop-{#AppVersion}-setup
SetupIconFile=ai4artsed-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running copy before files are replaced.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "de"; MessagesFile: "compiler:Languages\German.isl"
Name: "en"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole one-folder bundle: the two programs and _internal\ (Python, Qt, QtWebEngine,
; QtMultimedia, resources\).
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle completely (no stale Qt plugins or Python modules).
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the program folder may hold besides the installed files (Python byte caches).
Type: filesandordirs; Name: "{app}\_internal"
