<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33003: the recipient does not exist or cannot be written to; `data: {recipient, reason}`. */
class ChannelRecipientInvalid extends ChannelError
{
    public function __construct(public readonly string $recipient, string $reason)
    {
        parent::__construct("recipient {$recipient} is invalid: {$reason}", ErrorCodes::CHANNEL_RECIPIENT_INVALID, ['recipient' => $recipient, 'reason' => $reason]);
    }
}
