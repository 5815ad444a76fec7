# pswrap-step: exo/set-calendar-processing
param(
    [string]$Identity
    , [string]$AutomateProcessing
    , [int]$BookingWindowInDays
    , [int]$MaximumDurationInMinutes
    , [bool]$AllowConflicts
    , [bool]$AllowRecurringMeetings
    , [string[]]$ResourceDelegates
    , [bool]$AllBookInPolicy
    , [string[]]$BookInPolicy
    , [bool]$AddOrganizerToSubject
    , [bool]$DeleteComments
    , [bool]$DeleteSubject
    , [bool]$ProcessExternalMeetingMessages
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

# Only the settings given are passed: everything else stays as it is. An empty list of recipients is
# passed as $null, which is how Set-CalendarProcessing clears it.
$settings = [ordered]@{}
$settings['AutomateProcessing'] = $AutomateProcessing
$settings['BookingWindowInDays'] = $BookingWindowInDays
$settings['MaximumDurationInMinutes'] = $MaximumDurationInMinutes
$settings['AllowConflicts'] = $AllowConflicts
$settings['AllowRecurringMeetings'] = $AllowRecurringMeetings
if (@($ResourceDelegates).Count -eq 0) { $settings['ResourceDelegates'] = $null } else { $settings['ResourceDelegates'] = $ResourceDelegates }
$settings['AllBookInPolicy'] = $AllBookInPolicy
if (@($BookInPolicy).Count -eq 0) { $settings['BookInPolicy'] = $null } else { $settings['BookInPolicy'] = $BookInPolicy }
$settings['AddOrganizerToSubject'] = $AddOrganizerToSubject
$settings['DeleteComments'] = $DeleteComments
$settings['DeleteSubject'] = $DeleteSubject
$settings['ProcessExternalMeetingMessages'] = $ProcessExternalMeetingMessages

$applied = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
$refused = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
$combinedFailed = $false
try {
    $null = Set-CalendarProcessing -Identity $Identity @settings -Confirm:$false -ErrorAction Stop
    foreach ($name in @($settings.Keys)) { $applied.Add([string]$name) }
} catch {
    $combinedFailed = $true
}

# One refused setting fails the whole call. Then each is set on its own (the same values as above), so
# the others still apply and each refusal is reported with the setting it belongs to.
function New-PswrapRefusal {
    param([string]$Parameter, $ErrorRecord)
    return [ordered]@{
        parameter = $Parameter
        message = [string]$ErrorRecord.Exception.Message
        error_id = [string]$ErrorRecord.FullyQualifiedErrorId
    }
}

if ($combinedFailed) {
    try { $null = Set-CalendarProcessing -Identity $Identity -AutomateProcessing $settings['AutomateProcessing'] -Confirm:$false -ErrorAction Stop; $applied.Add('AutomateProcessing') }
    catch { $refused.Add((New-PswrapRefusal 'AutomateProcessing' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -BookingWindowInDays $settings['BookingWindowInDays'] -Confirm:$false -ErrorAction Stop; $applied.Add('BookingWindowInDays') }
    catch { $refused.Add((New-PswrapRefusal 'BookingWindowInDays' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -MaximumDurationInMinutes $settings['MaximumDurationInMinutes'] -Confirm:$false -ErrorAction Stop; $applied.Add('MaximumDurationInMinutes') }
    catch { $refused.Add((New-PswrapRefusal 'MaximumDurationInMinutes' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -AllowConflicts $settings['AllowConflicts'] -Confirm:$false -ErrorAction Stop; $applied.Add('AllowConflicts') }
    catch { $refused.Add((New-PswrapRefusal 'AllowConflicts' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -AllowRecurringMeetings $settings['AllowRecurringMeetings'] -Confirm:$false -ErrorAction Stop; $applied.Add('AllowRecurringMeetings') }
    catch { $refused.Add((New-PswrapRefusal 'AllowRecurringMeetings' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -ResourceDelegates $settings['ResourceDelegates'] -Confirm:$false -ErrorAction Stop; $applied.Add('ResourceDelegates') }
    catch { $refused.Add((New-PswrapRefusal 'ResourceDelegates' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -AllBookInPolicy $settings['AllBookInPolicy'] -Confirm:$false -ErrorAction Stop; $applied.Add('AllBookInPolicy') }
    catch { $refused.Add((New-PswrapRefusal 'AllBookInPolicy' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -BookInPolicy $settings['BookInPolicy'] -Confirm:$false -ErrorAction Stop; $applied.Add('BookInPolicy') }
    catch { $refused.Add((New-PswrapRefusal 'BookInPolicy' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -AddOrganizerToSubject $settings['AddOrganizerToSubject'] -Confirm:$false -ErrorAction Stop; $applied.Add('AddOrganizerToSubject') }
    catch { $refused.Add((New-PswrapRefusal 'AddOrganizerToSubject' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -DeleteComments $settings['DeleteComments'] -Confirm:$false -ErrorAction Stop; $applied.Add('DeleteComments') }
    catch { $refused.Add((New-PswrapRefusal 'DeleteComments' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -DeleteSubject $settings['DeleteSubject'] -Confirm:$false -ErrorAction Stop; $applied.Add('DeleteSubject') }
    catch { $refused.Add((New-PswrapRefusal 'DeleteSubject' $_)) }
    try { $null = Set-CalendarProcessing -Identity $Identity -ProcessExternalMeetingMessages $settings['ProcessExternalMeetingMessages'] -Confirm:$false -ErrorAction Stop; $applied.Add('ProcessExternalMeetingMessages') }
    catch { $refused.Add((New-PswrapRefusal 'ProcessExternalMeetingMessages' $_)) }
}

Write-PswrapResult ([ordered]@{ applied = $applied; refused = $refused })
