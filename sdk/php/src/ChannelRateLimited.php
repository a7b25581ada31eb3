<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33004: the service is rate limiting; `data: {retry_after_secs}`. */
class ChannelRateLimited extends ChannelError
{
    public function __construct(public readonly int|float $retryAfterSecs, string $message = 'rate limited')
    {
        parent::__construct($message, ErrorCodes::CHANNEL_RATE_LIMITED, ['retry_after_secs' => $retryAfterSecs]);
    }
}
