# pswrap-step: sync/install-lease
param(
    [string]$LeaseName
    , [datetime]$DeadlineUtc
)
Set-StrictMode -Version 2 -ErrorAction Stop
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Get-PswrapProperty {
    # Reads a property that may be absent: under Set-StrictMode a missing property is an error.
    # The leading comma keeps a collection whole instead of unrolling it into the pipeline.
    param([AllowNull()] $InputObject, [string] $Name)
    if ($null -eq $InputObject) { return $null }
    if ($InputObject -is [System.Collections.IDictionary]) {
        # Through Keys, not .Contains(): a generic Dictionary (Graph's AdditionalProperties) implements
        # IDictionary.Contains explicitly, and Windows PowerShell 5.1 does not find it by name.
        foreach ($key in @($InputObject.Keys)) {
            if ([string]$key -eq $Name) { return ,$InputObject[$key] }
        }
        return $null
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return ,$property.Value
}

function ConvertTo-PswrapList {
    # A list that stays a list in JSON: $null is empty, one item is a one-item list.
    # List[object] carries no extended members, so Windows PowerShell 5.1's ConvertTo-Json writes it
    # as a plain array (a PSObject-wrapped array would come out as {"value":[...],"Count":n}).
    param([AllowNull()] $Value)
    $list = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    if ($null -eq $Value) { return ,$list }
    if ($Value -is [string] -or $Value -is [System.Collections.IDictionary] -or
        $Value -isnot [System.Collections.IEnumerable]) {
        $list.Add($Value)
        return ,$list
    }
    foreach ($item in $Value) { $list.Add($item) }
    return ,$list
}

function ConvertTo-PswrapValue {
    # Shapes a value by the emitter rules (docs/design.md): GUIDs as strings, dates as ISO 8601 in UTC,
    # byte arrays as base64, enums by name, collections as lists, dictionaries key by key.
    param([AllowNull()] $Value)
    if ($null -eq $Value) { return $null }
    # The casts drop any PSObject wrapper: Windows PowerShell 5.1's ConvertTo-Json writes a wrapped
    # string's extended properties (e.g. Get-Content's PSPath) as an object instead of the string.
    if ($Value -is [string]) { return [string]$Value }
    if ($Value -is [bool]) { return [bool]$Value }
    if ($Value -is [guid]) { return $Value.ToString() }
    if ($Value -is [datetime]) {
        # A Kind of Unspecified is taken as UTC: the ADSync and Graph values pswrap reads are UTC.
        if ($Value.Kind -eq [System.DateTimeKind]::Local) { $Value = $Value.ToUniversalTime() }
        else { $Value = [datetime]::SpecifyKind($Value, [System.DateTimeKind]::Utc) }
        return $Value.ToString('o')
    }
    if ($Value -is [System.DateTimeOffset]) { return $Value.UtcDateTime.ToString('o') }
    if ($Value -is [byte[]]) { return [System.Convert]::ToBase64String($Value) }
    if ($Value -is [System.Enum]) { return $Value.ToString() }
    if ($Value -is [System.TimeSpan]) { return $Value.ToString() }
    if ($Value -is [System.ValueType]) { return $Value }
    if ($Value -is [System.Collections.IDictionary]) {
        $shaped = [ordered]@{}
        foreach ($key in @($Value.Keys)) { $shaped[[string]$key] = ConvertTo-PswrapValue $Value[$key] }
        return $shaped
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        $list = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
        foreach ($item in $Value) { $list.Add((ConvertTo-PswrapValue $item)) }
        return ,$list
    }
    return [string]$Value
}

function Write-PswrapResult {
    # The one JSON document a pswrap step writes to the output stream; its keys are the step's model fields.
    param([System.Collections.IDictionary] $Result)
    $document = ConvertTo-PswrapValue $Result
    $json = ConvertTo-Json -InputObject $document -Depth 16 -Compress -ErrorAction Stop
    Write-Output -InputObject $json -ErrorAction Stop
}
Import-Module ADSync -ErrorAction Stop
Import-Module ScheduledTasks -ErrorAction Stop

# A lease is a one-shot scheduled task in \pswrap\ named pswrap-lease-<operation>. Its Description
# records the scheduler state from before the FIRST lease (copied from lease to lease), so overlapping
# leases restore the original state, and only when the last one ends (docs/design.md "scheduler" hold).
$leaseFolder = '\pswrap\'
$leasePattern = '^pswrap-lease-[A-Za-z0-9-]+$'

# Install, remove and the lease task's own restore each read the leases and then change the scheduler;
# they run one at a time on the server, each holding an exclusive handle (FileShare None) on one file
# under ProgramData. A file handle, not a Mutex: a Mutex belongs to the thread that took it, and PSRP may
# run a pipeline on different threads; Windows closes the handle when its process dies, so a killed
# holder never leaves the lock taken.
$leaseLockPath = [System.IO.Path]::Combine($env:ProgramData, 'pswrap\lease.lock')
$leaseLockSeconds = 60

function Enter-PswrapLeaseLock {
    $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($leaseLockPath))
    $giveUp = [DateTime]::UtcNow.AddSeconds($leaseLockSeconds)
    while ($true) {
        try {
            return [System.IO.File]::Open($leaseLockPath, 'OpenOrCreate', 'ReadWrite', 'None')
        } catch [System.IO.IOException] {
            if ([DateTime]::UtcNow -ge $giveUp) {
                throw ('pswrap lease lock: another lease change held ' + $leaseLockPath + ' for ' + $leaseLockSeconds + ' s (a pswrap run or a lease task on this server); run the command again, or look for a hung powershell.exe holding that file')
            }
            [System.Threading.Thread]::Sleep(200)
        }
    }
}

function Get-PswrapLeaseTasks {
    $tasks = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    foreach ($task in @(Get-ScheduledTask -ErrorAction Stop)) {
        if ($task.TaskPath -eq $leaseFolder -and $task.TaskName -match $leasePattern) { $tasks.Add($task) }
    }
    return ,$tasks
}

function ConvertTo-PswrapLease {
    # Description: 'pswrap lease; prior_sync_cycle_enabled=True; deadline_utc=2026-11-27T12:00:00.0000000Z'
    param($Task)
    $description = [string](Get-PswrapProperty $Task 'Description')
    $prior = $null
    $deadline = $null
    if ($description -match 'prior_sync_cycle_enabled=(True|False)') { $prior = ($Matches[1] -eq 'True') }
    if ($description -match 'deadline_utc=(\S+)') { $deadline = $Matches[1] }
    return [ordered]@{
        name = [string]$Task.TaskName
        deadline_utc = $deadline
        prior_sync_cycle_enabled = $prior
    }
}

function Get-PswrapLeaseSet {
    param([bool]$Restored)
    $leases = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    $prior = $null
    foreach ($task in (Get-PswrapLeaseTasks)) {
        $lease = ConvertTo-PswrapLease $task
        if ($null -eq $prior) { $prior = $lease.prior_sync_cycle_enabled }
        $leases.Add($lease)
    }
    $scheduler = Get-ADSyncScheduler -ErrorAction Stop
    return [ordered]@{
        leases = $leases
        prior_sync_cycle_enabled = $prior
        sync_cycle_enabled = [bool](Get-PswrapProperty $scheduler 'SyncCycleEnabled')
        restored = $Restored
    }
}

if ($LeaseName -notmatch $leasePattern) {
    throw ('lease name ' + $LeaseName + ' does not match ' + $leasePattern + '; pswrap names leases pswrap-lease-<operation id>')
}

# What the task runs at the deadline if pswrap never comes back: under the lease lock (the same file as
# Enter-PswrapLeaseLock), if it is the last pswrap lease, put the scheduler back as it was before the first
# lease; then remove itself. Restoring first means a failed restore leaves the lease in place, visible to
# sync/list-leases, instead of a paused scheduler with no lease left to say why.
$restoreBlock = {
    param([string]$LeaseName, [bool]$PriorSyncCycleEnabled)
    $ErrorActionPreference = 'Stop'
    Import-Module ADSync -ErrorAction Stop
    Import-Module ScheduledTasks -ErrorAction Stop
    $lockPath = [System.IO.Path]::Combine($env:ProgramData, 'pswrap\lease.lock')
    $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($lockPath))
    $giveUp = [DateTime]::UtcNow.AddSeconds(600)
    $lock = $null
    while ($null -eq $lock) {
        try { $lock = [System.IO.File]::Open($lockPath, 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [System.IO.IOException] { if ([DateTime]::UtcNow -ge $giveUp) { throw }; [System.Threading.Thread]::Sleep(200) }
    }
    try {
        $others = 0
        foreach ($task in @(Get-ScheduledTask -ErrorAction Stop)) {
            if ($task.TaskPath -eq '\pswrap\' -and $task.TaskName -match '^pswrap-lease-[A-Za-z0-9-]+$' -and $task.TaskName -ne $LeaseName) { $others++ }
        }
        if ($others -eq 0) { $null = Set-ADSyncScheduler -SyncCycleEnabled $PriorSyncCycleEnabled -ErrorAction Stop }
        Unregister-ScheduledTask -TaskName $LeaseName -TaskPath '\pswrap\' -Confirm:$false -ErrorAction Stop
    } finally {
        $lock.Dispose()
    }
}

$leaseLock = Enter-PswrapLeaseLock
try {
    $existing = Get-PswrapLeaseTasks
    $mine = $null
    $prior = $null
    foreach ($task in $existing) {
        $lease = ConvertTo-PswrapLease $task
        if ($task.TaskName -eq $LeaseName) { $mine = $task }
        if ($null -eq $prior) { $prior = $lease.prior_sync_cycle_enabled }
    }
    if ($null -eq $prior) {
        # The first lease records the scheduler's state; later ones copy it.
        $before = Get-ADSyncScheduler -ErrorAction Stop
        $prior = [bool](Get-PswrapProperty $before 'SyncCycleEnabled')
    }

    if ($null -eq $mine) {
        $deadlineText = $DeadlineUtc.ToUniversalTime().ToString('o')
        $description = 'pswrap lease; prior_sync_cycle_enabled=' + [string]$prior + '; deadline_utc=' + $deadlineText
        $priorLiteral = '$false'
        if ($prior) { $priorLiteral = '$true' }
        # The lease name matched $leasePattern above, so it is safe inside this quoted argument.
        $command = '& {' + $restoreBlock.ToString() + "} -LeaseName '" + $LeaseName + "' -PriorSyncCycleEnabled " + $priorLiteral
        $encoded = [System.Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($command))
        $arguments = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' + $encoded

        $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments -ErrorAction Stop
        # The trigger is given in the server's local time: a task's start boundary is wall-clock time, and
        # a local DateTime is read the same way whichever way the cmdlet formats it.
        $deadlineLocal = $DeadlineUtc.ToLocalTime()
        $trigger = New-ScheduledTaskTrigger -Once -At $deadlineLocal -ErrorAction Stop
        # SYSTEM as a service account: no password is stored with the task.
        $principal = New-ScheduledTaskPrincipal -UserId 'NT AUTHORITY\SYSTEM' -LogonType ServiceAccount -ErrorAction Stop
        $taskSettings = New-ScheduledTaskSettingsSet -StartWhenAvailable -ErrorAction Stop
        $null = Register-ScheduledTask -TaskName $LeaseName -TaskPath $leaseFolder -Action $action -Trigger $trigger -Principal $principal -Settings $taskSettings -Description $description -ErrorAction Stop
    }

    # Pause the scheduler (docs/sources.md section 2: Set-ADSyncScheduler -SyncCycleEnabled $false).
    $null = Set-ADSyncScheduler -SyncCycleEnabled $false -ErrorAction Stop

    Write-PswrapResult (Get-PswrapLeaseSet -Restored $false)
} finally {
    $leaseLock.Dispose()
}
