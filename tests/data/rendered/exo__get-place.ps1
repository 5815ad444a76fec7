# pswrap-step: exo/get-place
param(
    [string]$Identity
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

function Test-PswrapNotFound {
    # Exchange's not-found error, told by its identity and never by its English text (a tenant answers
    # in its own language): the exception type ManagementObjectNotFoundException (CategoryInfo.Reason;
    # Exchange Online V3 also writes "Ex<id>|<type>|<text>" as the message), except the error of the same
    # type for an identity that "matches multiple entries" (id Ex9E65A2, docs/sources.md 7b item 9).
    # Get-EXOMailbox's REST form carries the HTTP status: HttpStatusCode=404.
    param($ErrorRecord)
    $message = [string]$ErrorRecord.Exception.Message
    if ($message -match '^Ex9E65A2\|') { return $false }
    if ($message -match 'HttpStatusCode=404') { return $true }
    if ([string]$ErrorRecord.CategoryInfo.Reason -eq 'ManagementObjectNotFoundException') { return $true }
    return ($message -match '^Ex[0-9A-Fa-f]+\|[A-Za-z0-9_.]*ManagementObjectNotFoundException\|')
}

$place = $null
try {
    $place = Get-Place -Identity $Identity -ErrorAction Stop
} catch {
    if (-not (Test-PswrapNotFound $_)) { throw }
}

$data = $null
if ($null -ne $place) {
    $geo = Get-PswrapProperty $place 'GeoCoordinates'
    $data = [ordered]@{
        building = Get-PswrapProperty $place 'Building'
        floor = Get-PswrapProperty $place 'Floor'
        floor_label = Get-PswrapProperty $place 'FloorLabel'
        capacity = Get-PswrapProperty $place 'Capacity'
        tags = ConvertTo-PswrapList (Get-PswrapProperty $place 'Tags')
        is_wheelchair_accessible = Get-PswrapProperty $place 'IsWheelChairAccessible'
        audio_device_name = Get-PswrapProperty $place 'AudioDeviceName'
        video_device_name = Get-PswrapProperty $place 'VideoDeviceName'
        display_device_name = Get-PswrapProperty $place 'DisplayDeviceName'
        street = Get-PswrapProperty $place 'Street'
        city = Get-PswrapProperty $place 'City'
        state = Get-PswrapProperty $place 'State'
        postal_code = Get-PswrapProperty $place 'PostalCode'
        country_or_region = $null
        phone = Get-PswrapProperty $place 'Phone'
        geo_coordinates = $null
        type = [string](Get-PswrapProperty $place 'Type')
    }
    # CountryOrRegion is a CountryInfo: its two-letter code is what Set-Place takes.
    $country = Get-PswrapProperty $place 'CountryOrRegion'
    if ($null -ne $country) {
        $code = Get-PswrapProperty $country 'TwoLetterISORegionName'
        if ($null -eq $code) { $code = [string]$country }
        $data['country_or_region'] = [string]$code
    }
    if ($null -ne $geo) { $data['geo_coordinates'] = [string]$geo }
}
Write-PswrapResult ([ordered]@{ found = ($null -ne $place); place = $data })
