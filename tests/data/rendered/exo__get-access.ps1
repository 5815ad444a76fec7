# pswrap-step: exo/get-access
param(
    [string]$Identity
    , [string[]]$Principals
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
function Resolve-PswrapPrincipal {
    # A recipient as named (UPN, SMTP address, alias, name or legacyExchangeDN): what it resolves to,
    # found = $false when nothing does, matches > 1 when it is ambiguous.
    param([string]$Name)
    $hits = @()
    try {
        $hits = @(Get-Recipient -Identity $Name -ResultSize 2 -ErrorAction Stop)
    } catch {
        if (-not (Test-PswrapNotFound $_)) { throw }
    }
    $entry = [ordered]@{ identity = $Name; found = ($hits.Count -eq 1); matches = $hits.Count }
    if ($hits.Count -eq 1) {
        $entry['alias'] = Get-PswrapProperty $hits[0] 'Alias'
        $entry['name'] = Get-PswrapProperty $hits[0] 'Name'
        $entry['primary_smtp_address'] = [string](Get-PswrapProperty $hits[0] 'PrimarySmtpAddress')
        $entry['external_directory_object_id'] = Get-PswrapProperty $hits[0] 'ExternalDirectoryObjectId'
        $entry['guid'] = [string](Get-PswrapProperty $hits[0] 'Guid')
    }
    return $entry
}

function ConvertTo-PswrapPrincipalList {
    param([AllowNull()] $Value)
    $list = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    foreach ($item in (ConvertTo-PswrapList $Value)) { $list.Add((Resolve-PswrapPrincipal ([string]$item))) }
    return ,$list
}

function Test-PswrapSystemUser {
    # Entries every mailbox has (the mailbox itself, Exchange's own accounts, unresolved SIDs): not
    # permissions an admin granted.
    param([string]$Name)
    return ($Name -like 'NT AUTHORITY\*' -or $Name -like 'S-1-5-*')
}

$mailbox = $null
try {
    $mailbox = Get-Mailbox -Identity $Identity -ErrorAction Stop
} catch {
    if (-not (Test-PswrapNotFound $_)) { throw }
}

$result = [ordered]@{
    found = ($null -ne $mailbox)
    hidden_from_address_lists = $false
    is_exchange_cloud_managed = $false
    full_access = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    send_as = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    send_on_behalf = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    calendar_permissions = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
    principals = New-Object -TypeName 'System.Collections.Generic.List[object]' -ErrorAction Stop
}

if ($null -ne $mailbox) {
    $result['hidden_from_address_lists'] = [bool](Get-PswrapProperty $mailbox 'HiddenFromAddressListsEnabled')
    $result['is_exchange_cloud_managed'] = [bool](Get-PswrapProperty $mailbox 'IsExchangeCloudManaged')
    $result['send_on_behalf'] = ConvertTo-PswrapPrincipalList (Get-PswrapProperty $mailbox 'GrantSendOnBehalfTo')

    # FullAccess granted explicitly (not inherited, not denied).
    foreach ($entry in @(Get-EXOMailboxPermission -Identity $Identity -ResultSize Unlimited -ErrorAction Stop)) {
        $user = [string](Get-PswrapProperty $entry 'User')
        $rights = @(ConvertTo-PswrapList (Get-PswrapProperty $entry 'AccessRights')) -join ','
        if ((Test-PswrapSystemUser $user) -or [bool](Get-PswrapProperty $entry 'IsInherited') -or
            [bool](Get-PswrapProperty $entry 'Deny') -or $rights -notmatch 'FullAccess') { continue }
        $result['full_access'].Add((Resolve-PswrapPrincipal $user))
    }

    # SendAs (Exchange Online keeps it as a recipient permission).
    foreach ($entry in @(Get-RecipientPermission -Identity $Identity -AccessRights SendAs -ResultSize Unlimited -ErrorAction Stop)) {
        $trustee = [string](Get-PswrapProperty $entry 'Trustee')
        if ((Test-PswrapSystemUser $trustee) -or [bool](Get-PswrapProperty $entry 'IsInherited') -or
            [string](Get-PswrapProperty $entry 'AccessControlType') -eq 'Deny') { continue }
        $result['send_as'].Add((Resolve-PswrapPrincipal $trustee))
    }

    # The calendar folder's entries. The folder is named by its English name, which Exchange Online
    # accepts in the <mailbox>:\Calendar form.
    $folder = [string]$Identity + ':\Calendar'
    foreach ($entry in @(Get-MailboxFolderPermission -Identity $folder -ErrorAction Stop)) {
        $user = Get-PswrapProperty $entry 'User'
        $kind = [string](Get-PswrapProperty $user 'UserType')
        $name = [string](Get-PswrapProperty $user 'DisplayName')
        if ([string]::IsNullOrEmpty($name)) { $name = [string]$user }
        $right = [ordered]@{
            user = $name
            access_rights = @(ConvertTo-PswrapList (Get-PswrapProperty $entry 'AccessRights')) -join ','
            principal = $null
        }
        # UserType names the built-in entries; a deserialized entry may carry only the name.
        if ($kind -ne 'Default' -and $kind -ne 'Anonymous' -and ($name -eq 'Default' -or $name -eq 'Anonymous')) {
            $kind = $name
        }
        if ($kind -eq 'Default' -or $kind -eq 'Anonymous') {
            $right['user'] = $kind
        } else {
            $address = [string](Get-PswrapProperty (Get-PswrapProperty $user 'RecipientPrincipal') 'PrimarySmtpAddress')
            if ([string]::IsNullOrEmpty($address)) { $address = $name }
            $right['principal'] = Resolve-PswrapPrincipal $address
        }
        $result['calendar_permissions'].Add($right)
    }
}

foreach ($principal in [string[]]$Principals) { $result['principals'].Add((Resolve-PswrapPrincipal $principal)) }
Write-PswrapResult $result
