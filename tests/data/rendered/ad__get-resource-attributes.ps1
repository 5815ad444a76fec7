# pswrap-step: ad/get-resource-attributes
param(
    [string]$UserPrincipalName
    , [string[]]$Principals
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

function ConvertTo-PswrapAdPrincipal {
    # An account as a principal: guid is its objectGUID (what two entries are compared by), name its DN.
    param([string]$Identity, $Account, [int]$Matches)
    $entry = [ordered]@{ identity = $Identity; found = ($Matches -eq 1); matches = $Matches }
    if ($Matches -eq 1) {
        $entry['alias'] = [string](Get-PswrapProperty $Account 'SamAccountName')
        $entry['name'] = [string](Get-PswrapProperty $Account 'DistinguishedName')
        $entry['primary_smtp_address'] = Get-PswrapProperty $Account 'mail'
        $entry['guid'] = [string](Get-PswrapProperty $Account 'ObjectGUID')
    }
    return $entry
}

$properties = [string[]]@('l', 'streetAddress', 'st', 'postalCode', 'c', 'telephoneNumber', 'publicDelegates', 'mail', 'displayName', 'proxyAddresses')
# msExchHideFromAddressLists exists only with the Exchange schema (setup /PrepareSchema): asked for only
# then, or Get-ADUser would refuse the unknown property.
$rootDse = Get-ADRootDSE @adConnection -ErrorAction Stop
$schemaNc = [string]$rootDse.schemaNamingContext
$hideAttribute = @(Get-ADObject -SearchBase $schemaNc -Filter "lDAPDisplayName -eq 'msExchHideFromAddressLists'" @adConnection -ErrorAction Stop)
$exchangeSchema = ($hideAttribute.Count -gt 0)
if ($exchangeSchema) { $properties += 'msExchHideFromAddressLists' }
# The AD module reads the variables itself when it evaluates the filter: values never become filter text.
$accounts = @(Get-ADUser -Filter 'userPrincipalName -eq $UserPrincipalName' -Properties $properties @adConnection -ErrorAction Stop)
$delegates = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
$resolved = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
$result = [ordered]@{
    found = ($accounts.Count -eq 1)
    distinguished_name = $null
    street = $null
    city = $null
    state = $null
    postal_code = $null
    country_or_region = $null
    phone = $null
    display_name = $null
    mail = $null
    proxy_addresses = @()
    exchange_schema = $exchangeSchema
    hidden_from_address_lists = $null
    public_delegates = $delegates
    principals = $resolved
}
if ($accounts.Count -eq 1) {
    $account = $accounts[0]
    $result['distinguished_name'] = [string](Get-PswrapProperty $account 'DistinguishedName')
    $result['street'] = Get-PswrapProperty $account 'streetAddress'
    $result['city'] = Get-PswrapProperty $account 'l'
    $result['state'] = Get-PswrapProperty $account 'st'
    $result['postal_code'] = Get-PswrapProperty $account 'postalCode'
    $result['country_or_region'] = Get-PswrapProperty $account 'c'
    $result['phone'] = Get-PswrapProperty $account 'telephoneNumber'
    $result['display_name'] = Get-PswrapProperty $account 'displayName'
    $result['mail'] = Get-PswrapProperty $account 'mail'
    $result['proxy_addresses'] = ConvertTo-PswrapList (Get-PswrapProperty $account 'proxyAddresses')
    if ($exchangeSchema) {
        $result['hidden_from_address_lists'] = [bool](Get-PswrapProperty $account 'msExchHideFromAddressLists')
    }
    foreach ($dn in @(ConvertTo-PswrapList (Get-PswrapProperty $account 'publicDelegates'))) {
        $delegate = Get-ADUser -Identity ([string]$dn) -Properties 'mail' @adConnection -ErrorAction Stop
        $delegates.Add((ConvertTo-PswrapAdPrincipal ([string]$dn) $delegate 1))
    }
}
foreach ($principal in [string[]]$Principals) {
    $proxy = 'smtp:' + $principal
    $hits = @(Get-ADUser -Filter 'userPrincipalName -eq $principal -or mail -eq $principal -or sAMAccountName -eq $principal -or proxyAddresses -eq $proxy' -Properties 'mail' @adConnection -ErrorAction Stop)
    $first = $null
    if ($hits.Count -gt 0) { $first = $hits[0] }
    $resolved.Add((ConvertTo-PswrapAdPrincipal $principal $first $hits.Count))
}
Write-PswrapResult $result
