# pswrap-step: ad/set-resource-attributes
param(
    [string]$UserPrincipalName
    , [string]$StreetAddress
    , [string]$City
    , [string]$State
    , [string]$PostalCode
    , [string]$Country
    , [string]$OfficePhone
    , [string[]]$PublicDelegates
    , [bool]$HideFromAddressLists
    , [string]$DisplayName
    , [string]$EmailAddress
    , [string[]]$ProxyAddresses
    , [string]$Server
    , [string]$CredentialUser
    , [securestring]$CredentialPassword
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
Import-Module ActiveDirectory -ErrorAction Stop

# Connection parameters shared by every AD call of this step: the pinned domain controller and,
# when configured, the credential for the second hop (docs/design.md "Where steps run").
$adConnection = @{}
$adConnection['Server'] = $Server
$adConnection['Credential'] = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $CredentialUser, $CredentialPassword -ErrorAction Stop

# Each change is made on its own, so one refusal does not hold the others back; a field counts as
# applied when none of its changes was refused.
$pswrapRefused = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
$pswrapGiven = New-Object -TypeName 'System.Collections.Generic.List[string]' -ErrorAction Stop

function Add-PswrapRefusal {
    param([string]$Field, [string]$Item, $ErrorRecord)
    $message = [string]$ErrorRecord.Exception.Message
    if (-not [string]::IsNullOrEmpty($Item)) { $message = $Item + ': ' + $message }
    $pswrapRefused.Add([ordered]@{
        parameter = $Field
        message = $message
        error_id = [string]$ErrorRecord.FullyQualifiedErrorId
    })
}

function Write-PswrapOutcome {
    $refusedFields = @{}
    foreach ($refusal in $pswrapRefused) { $refusedFields[$refusal['parameter']] = $true }
    $applied = New-Object -TypeName 'System.Collections.Generic.List[string]' -ErrorAction Stop
    foreach ($field in $pswrapGiven) {
        if (-not $refusedFields.ContainsKey($field) -and -not $applied.Contains($field)) { $applied.Add($field) }
    }
    Write-PswrapResult ([ordered]@{ applied = $applied; refused = $pswrapRefused })
}

$accounts = @(Get-ADUser -Filter 'userPrincipalName -eq $UserPrincipalName' @adConnection -ErrorAction Stop)
if ($accounts.Count -ne 1) { throw ('no single AD account has the UPN ' + $UserPrincipalName) }
$guid = [guid](Get-PswrapProperty $accounts[0] 'ObjectGUID')

# Each value on its own, so one the directory refuses does not hold the others back.
$pswrapGiven.Add('StreetAddress')
try { $null = Set-ADUser -Identity $guid -StreetAddress $StreetAddress @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'StreetAddress' '' $_ }
$pswrapGiven.Add('City')
try { $null = Set-ADUser -Identity $guid -City $City @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'City' '' $_ }
$pswrapGiven.Add('State')
try { $null = Set-ADUser -Identity $guid -State $State @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'State' '' $_ }
$pswrapGiven.Add('PostalCode')
try { $null = Set-ADUser -Identity $guid -PostalCode $PostalCode @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'PostalCode' '' $_ }
$pswrapGiven.Add('Country')
try { $null = Set-ADUser -Identity $guid -Country $Country @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'Country' '' $_ }
$pswrapGiven.Add('OfficePhone')
try { $null = Set-ADUser -Identity $guid -OfficePhone $OfficePhone @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'OfficePhone' '' $_ }
# publicDelegates holds distinguished names; an empty list clears it.
$pswrapGiven.Add('PublicDelegates')
try {
    if (@($PublicDelegates).Count -eq 0) {
        $null = Set-ADUser -Identity $guid -Clear 'publicDelegates' @adConnection -ErrorAction Stop
    } else {
        $null = Set-ADUser -Identity $guid -Replace @{ publicDelegates = [string[]]$PublicDelegates } @adConnection -ErrorAction Stop
    }
} catch { Add-PswrapRefusal 'PublicDelegates' '' $_ }
# msExchHideFromAddressLists: an Exchange-schema attribute (AD without the schema refuses it).
$pswrapGiven.Add('HideFromAddressLists')
try { $null = Set-ADUser -Identity $guid -Replace @{ msExchHideFromAddressLists = $HideFromAddressLists } @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'HideFromAddressLists' '' $_ }
$pswrapGiven.Add('DisplayName')
try { $null = Set-ADUser -Identity $guid -DisplayName $DisplayName @adConnection -ErrorAction Stop }
catch { Add-PswrapRefusal 'DisplayName' '' $_ }
# proxyAddresses holds every address ('SMTP:' the primary, X500 and the others as they were); mail is the
# primary too, so both go in one Set-ADUser (one directory update): written together or refused together.
$pswrapGiven.Add('ProxyAddresses')
try {
    $null = Set-ADUser -Identity $guid -EmailAddress $EmailAddress -Replace @{ proxyAddresses = [string[]]$ProxyAddresses } @adConnection -ErrorAction Stop
} catch { Add-PswrapRefusal 'ProxyAddresses' '' $_ }
Write-PswrapOutcome
